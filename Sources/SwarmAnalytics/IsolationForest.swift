import RealModule

/// Isolation Forest (Liu, Ting and Zhou, 2008) over the multivariate view of runs: anomalies are
/// the points that random axis-parallel splits isolate in few steps. As scikit-learn's
/// `IsolationForest`: `trees` trees on subsamples of `sampleSize` drawn without replacement, depth
/// limited to ceil(log2(sampleSize)), a split on a random non-constant feature at a uniform value
/// between its minimum and maximum, and the score 2^(-E[h(x)] / c(sampleSize)) in (0, 1], where
/// about 0.5 is ordinary and near 1 is anomalous. Deterministic for a given `seed`.
public struct IsolationForest: Sendable {
    private indirect enum Node: Sendable {
        case leaf(size: Int)
        case split(feature: Int, value: Double, left: Node, right: Node)
    }

    private let roots: [Node]
    public let sampleSize: Int
    public let featureCount: Int

    /// Fits the forest; `rows` must all have the same number of features (at least one row).
    public init(rows: [[Double]], trees: Int = 100, sampleSize: Int = 256, seed: UInt64 = 0) {
        var random = SplitMix64(seed: seed)
        let size = min(sampleSize, rows.count)
        self.sampleSize = size
        featureCount = rows.first?.count ?? 0
        let depthLimit = Int(Double.log2(Double(max(size, 2))).rounded(.up))
        var built: [Node] = []
        built.reserveCapacity(trees)
        var indices = Array(rows.indices)
        for _ in 0..<trees {
            // A partial Fisher-Yates shuffle: the first `size` indices are the subsample.
            for i in 0..<size {
                let j = i + Int(random.next(below: UInt64(indices.count - i)))
                indices.swapAt(i, j)
            }
            let sample = indices[0..<size].map { rows[$0] }
            built.append(Self.grow(sample, depth: 0, limit: depthLimit, features: featureCount, random: &random))
        }
        roots = built
    }

    /// The anomaly score of `row` (higher is more anomalous).
    public func score(_ row: [Double]) -> Double {
        guard !roots.isEmpty else { return 0.5 }
        var total = 0.0
        for root in roots { total += Self.pathLength(row, root, depth: 0) }
        let mean = total / Double(roots.count)
        return Double.exp2(-mean / Self.averagePathLength(sampleSize))
    }

    public func scores(_ rows: [[Double]]) -> [Double] { rows.map(score) }

    private static func grow(
        _ rows: [[Double]],
        depth: Int,
        limit: Int,
        features: Int,
        random: inout SplitMix64
    ) -> Node {
        guard rows.count > 1, depth < limit else { return .leaf(size: rows.count) }
        // Features with a spread in this node, drawn in random order until one splits.
        var candidates = Array(0..<features)
        while !candidates.isEmpty {
            let pick = Int(random.next(below: UInt64(candidates.count)))
            let feature = candidates.remove(at: pick)
            var low = Double.infinity
            var high = -Double.infinity
            for row in rows {
                low = min(low, row[feature])
                high = max(high, row[feature])
            }
            guard high > low else { continue }
            let value = low + random.nextUnit() * (high - low)
            let left = rows.filter { $0[feature] < value }
            let right = rows.filter { $0[feature] >= value }
            return .split(
                feature: feature,
                value: value,
                left: grow(left, depth: depth + 1, limit: limit, features: features, random: &random),
                right: grow(right, depth: depth + 1, limit: limit, features: features, random: &random)
            )
        }
        return .leaf(size: rows.count)  // every feature constant: the points cannot be told apart
    }

    private static func pathLength(_ row: [Double], _ node: Node, depth: Int) -> Double {
        switch node {
        case .leaf(let size): return Double(depth) + averagePathLength(size)
        case .split(let feature, let value, let left, let right):
            return pathLength(row, row[feature] < value ? left : right, depth: depth + 1)
        }
    }

    /// c(n): the average path length of an unsuccessful search in a binary search tree of n points.
    static func averagePathLength(_ n: Int) -> Double {
        if n <= 1 { return 0 }
        if n == 2 { return 1 }
        let m = Double(n - 1)
        return 2 * (Double.log(m) + 0.577_215_664_901_532_9) - 2 * m / Double(n)
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
public struct SplitMix64: Sendable, RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0).
    public mutating func next(below bound: UInt64) -> UInt64 { next() % bound }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
