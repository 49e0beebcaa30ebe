/// Where a store lives: the text of `--db` / `SWARM_DB`, parsed once at startup.
///
/// Accepted forms:
/// - `sqlite:PATH`: a SQLite file; PATH is relative to the working directory or absolute;
/// - `sqlite:///ABSOLUTE/PATH`: the URL form of an absolute path;
/// - a bare file path (`data/streamswarm.sqlite`): SQLite, as `--db` took before it took URLs;
/// - `postgres://…` or `postgresql://…`: a PostgreSQL connection URL (libpq form).
///
/// Parsing only recognises the backend; whether this build can open it is the opener's business.
public struct StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// The backend and what it needs to find the database.
    public enum Backend: Sendable, Hashable {
        case sqlite(path: String)
        /// The URL as given (it may carry a password: print ``StoreLocation/description`` instead).
        case postgres(url: String)
    }

    public var backend: Backend

    public init(_ backend: Backend) { self.backend = backend }

    /// A SQLite file at `path`.
    public static func sqlite(path: String) -> Self { Self(.sqlite(path: path)) }

    /// The forms ``init(parsing:)`` accepts, for messages.
    public static let acceptedForms =
        "sqlite:PATH, sqlite:///ABSOLUTE/PATH, a plain file path, or postgres://USER@HOST:PORT/DATABASE"

    /// Parses the text of `--db` or `SWARM_DB`.
    ///
    /// - Throws: ``StoreError`` `.invalidInput` naming the accepted forms. The message never
    ///   repeats a URL that was not understood, since it may hold a password.
    public init(parsing text: String) throws(StoreError) {
        let text = text.trimmingWhitespace()
        guard !text.isEmpty else {
            throw StoreError(code: .invalidInput, message: "the store location is empty; use \(Self.acceptedForms)")
        }
        guard let scheme = Self.scheme(of: text) else {
            // No scheme: a file path, as before URLs were accepted.
            self = .sqlite(path: text)
            return
        }
        let rest = String(text.dropFirst(scheme.count + 1))
        switch scheme.lowercased() {
        case "sqlite":
            self = .sqlite(path: try Self.sqlitePath(rest))
        case "postgres", "postgresql":
            guard rest.hasPrefix("//"), rest.count > 2 else {
                throw StoreError(
                    code: .invalidInput,
                    message: "a PostgreSQL location is a URL: postgres://USER@HOST:PORT/DATABASE"
                )
            }
            self.init(.postgres(url: text))
        default:
            throw StoreError(
                code: .invalidInput,
                message: "store location scheme '\(scheme):' is not supported; use \(Self.acceptedForms)"
            )
        }
    }

    /// The location for logs and messages, with any password replaced by `***`.
    public var description: String {
        switch backend {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let url): return Self.redactingPassword(url)
        }
    }

    /// `sqlite:` is followed by a path, or by `//` and an absolute path (no host).
    private static func sqlitePath(_ rest: String) throws(StoreError) -> String {
        var path = rest
        if rest.hasPrefix("//") {
            path = String(rest.dropFirst(2))
            guard path.hasPrefix("/") else {
                throw StoreError(
                    code: .invalidInput,
                    message: "sqlite://\(path) names a host, which SQLite has none of; "
                        + "use sqlite:///ABSOLUTE/PATH or sqlite:RELATIVE/PATH"
                )
            }
        }
        guard !path.isEmpty else {
            throw StoreError(
                code: .invalidInput,
                message: "sqlite: needs a file path, e.g. sqlite:data/streamswarm.sqlite"
            )
        }
        return path
    }

    /// The URL scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`) before the first
    /// `:`, or nil for text that does not start with one (a path such as `./a:b` or `data/x`).
    private static func scheme(of text: String) -> String? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let candidate = text[..<colon]
        guard let first = candidate.unicodeScalars.first, first.isASCIILetter else { return nil }
        let valid = candidate.unicodeScalars.allSatisfy {
            $0.isASCIILetter || $0.isASCIIDigit || "+-.".unicodeScalars.contains($0)
        }
        return valid ? String(candidate) : nil
    }

    /// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
    private static func redactingPassword(_ url: String) -> String {
        // Parsing checked the form SCHEME://…: the authority starts after the first "://".
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return url }
        let authorityStart = url.index(colon, offsetBy: 3)
        let authorityEnd = url[authorityStart...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        let authority = url[authorityStart..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let split = authority[..<at].firstIndex(of: ":") else {
            return url
        }
        return String(url[..<url.index(after: split)]) + "***" + String(url[at...])
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
