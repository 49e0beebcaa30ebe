// why: the parsed path is a generated gNMI message, part of this module's API.
public import SwarmGNMIProto

/// gNMI paths ⇄ the string form operators write: `/interfaces/interface[name=eth0]/state`,
/// optionally prefixed by an origin (`openconfig:/interfaces`). `*` as a key value means "all"
/// and is sent as is; the root path is an empty element list (gNMI path conventions §2.2).
public enum GNMIPath {
    public static func parse(_ text: String) throws(GNMIError) -> Gnmi_Path {
        var path = Gnmi_Path()
        var rest = Substring(text.trimmingSpaces)
        // An origin ends at the first ':' that precedes the first '/'.
        if let colon = rest.firstIndex(of: ":"), !rest[..<colon].contains("/"), !rest[..<colon].contains("[") {
            path.origin = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        guard rest.isEmpty || rest.first == "/" else {
            throw GNMIError(
                code: .invalidPath,
                message: "gNMI path \"\(text)\" must start with / (e.g. /interfaces/interface[name=*]/state)"
            )
        }
        var index = rest.startIndex
        var current = ""
        var element: Gnmi_PathElem?
        func finish() throws(GNMIError) {
            if var e = element {
                if !current.isEmpty {
                    throw GNMIError(
                        code: .invalidPath,
                        message: "gNMI path \"\(text)\": text after ']' in element \(e.name)"
                    )
                }
                if e.name.isEmpty {
                    throw GNMIError(code: .invalidPath, message: "gNMI path \"\(text)\" has an empty element name")
                }
                path.elem.append(e)
                e = Gnmi_PathElem()
            } else if !current.isEmpty {
                var e = Gnmi_PathElem()
                e.name = current
                path.elem.append(e)
            }
            element = nil
            current = ""
        }
        while index < rest.endIndex {
            let c = rest[index]
            switch c {
            case "/":
                try finish()
                index = rest.index(after: index)
            case "[":
                if element == nil {
                    var e = Gnmi_PathElem()
                    e.name = current
                    element = e
                    current = ""
                }
                guard let close = findClose(rest, from: index) else {
                    throw GNMIError(code: .invalidPath, message: "gNMI path \"\(text)\": '[' without a matching ']'")
                }
                let body = rest[rest.index(after: index)..<close]
                guard let eq = body.firstIndex(of: "=") else {
                    throw GNMIError(
                        code: .invalidPath,
                        message: "gNMI path \"\(text)\": key \"\(body)\" needs the form [name=value]"
                    )
                }
                let key = String(body[..<eq])
                let value = unescape(body[body.index(after: eq)...])
                if key.isEmpty {
                    throw GNMIError(code: .invalidPath, message: "gNMI path \"\(text)\": a key has no name")
                }
                element?.key[key] = value
                index = rest.index(after: close)
            default:
                if element != nil {
                    throw GNMIError(
                        code: .invalidPath,
                        message: "gNMI path \"\(text)\": unexpected \"\(c)\" after a key"
                    )
                }
                current.append(c)
                index = rest.index(after: index)
            }
        }
        try finish()
        return path
    }

    /// The string form, keys sorted so equal paths print equally.
    public static func format(_ path: Gnmi_Path) -> String {
        var text = path.origin.isEmpty ? "" : path.origin + ":"
        let elems =
            path.elem.isEmpty && !path.element.isEmpty
            ? path.element.map { name in
                var e = Gnmi_PathElem()
                e.name = name
                return e
            } : path.elem
        if elems.isEmpty { return text + "/" }
        for e in elems {
            text += "/" + e.name
            for key in e.key.keys.sorted() {
                text += "[\(key)=\(escape(e.key[key] ?? ""))]"
            }
        }
        return text
    }

    /// `prefix` followed by `path` (a notification's leaves are relative to its prefix).
    public static func join(_ prefix: Gnmi_Path, _ path: Gnmi_Path) -> Gnmi_Path {
        var joined = path
        joined.elem = prefix.elem + path.elem
        if joined.origin.isEmpty { joined.origin = prefix.origin }
        if joined.target.isEmpty { joined.target = prefix.target }
        return joined
    }

    private static func findClose(_ text: Substring, from open: Substring.Index) -> Substring.Index? {
        var index = text.index(after: open)
        while index < text.endIndex {
            if text[index] == "\\" {
                index = text.index(after: index)
                if index < text.endIndex { index = text.index(after: index) }
                continue
            }
            if text[index] == "]" { return index }
            index = text.index(after: index)
        }
        return nil
    }

    private static func unescape(_ value: Substring) -> String {
        var out = ""
        var escaped = false
        for c in value {
            if escaped {
                out.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }

    private static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            if c == "]" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
