/// Receiver operating characteristic of a score against labels.
public enum ROC {
    /// The area under the ROC curve: the chance that a random positive scores above a random
    /// negative (ties count half), as scikit-learn's `roc_auc_score`. Nil without both classes.
    public static func auc(scores: [Double], labels: [Bool]) -> Double? {
        let pairs = zip(scores, labels).sorted { $0.0 < $1.0 }
        let positives = labels.filter { $0 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Mann-Whitney U with average ranks for ties.
        var rankSum = 0.0
        var i = 0
        while i < pairs.count {
            var j = i
            while j + 1 < pairs.count && pairs[j + 1].0 == pairs[i].0 { j += 1 }
            let rank = Double(i + j + 2) / 2
            for k in i...j where pairs[k].1 { rankSum += rank }
            i = j + 1
        }
        let u = rankSum - Double(positives * (positives + 1)) / 2
        return u / Double(positives * negatives)
    }
}
