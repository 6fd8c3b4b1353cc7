import CTOMLDocument

/// A TOML syntax error as toml++ reports it.
struct TOMLSyntaxError: Error {
    var message: String
    var line: Int
    var column: Int
}

/// Parses TOML text with Debian's toml++ into `ConfigValue`s.
///
/// The C side walks the parsed tree depth first; this side keeps a stack of
/// the open tables and arrays. toml++ is used instead of a Swift TOML package
/// because those bring Foundation (and ICU) into the daemon: ~9 MB of a
/// 16 MB memory budget (docs/performance.md).
enum TOMLDocument {
    static func parse(_ text: String) throws -> ConfigValue {
        let builder = TreeBuilder()
        var error = toml_document_error()
        var visitor = toml_document_visitor()
        visitor.context = Unmanaged.passUnretained(builder).toOpaque()
        visitor.open = { context, node in
            guard let context, let node else { return }
            Unmanaged<TreeBuilder>.fromOpaque(context).takeUnretainedValue().open(node.pointee)
        }
        visitor.close = { context in
            guard let context else { return }
            Unmanaged<TreeBuilder>.fromOpaque(context).takeUnretainedValue().close()
        }
        var copy = text
        let status = copy.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                toml_document_walk(chars.baseAddress, chars.count, &visitor, &error)
            }
        }
        guard status == 0 else {
            let message = withUnsafeBytes(of: &error.message) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            throw TOMLSyntaxError(message: message, line: Int(error.line), column: Int(error.column))
        }
        withExtendedLifetime(builder) {}
        return builder.root ?? .table([:])
    }

    /// Receives the walk; a container stays on the stack until its `close`.
    private final class TreeBuilder {
        /// A table or array still being filled (a class, so adding to it never copies it).
        private final class OpenContainer {
            let key: String?
            let isArray: Bool
            var entries: [String: ConfigValue] = [:]
            var elements: [ConfigValue] = []
            init(key: String?, isArray: Bool) {
                self.key = key
                self.isArray = isArray
            }
        }
        private var stack: [OpenContainer] = []
        private(set) var root: ConfigValue?

        func open(_ node: toml_document_node) {
            let key = node.key.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: node.key_length), as: UTF8.self) }
            switch node.kind {
            case TOML_DOCUMENT_TABLE: stack.append(OpenContainer(key: key, isArray: false))
            case TOML_DOCUMENT_ARRAY: stack.append(OpenContainer(key: key, isArray: true))
            case TOML_DOCUMENT_STRING: add(.string(Self.text(node)), key: key)
            case TOML_DOCUMENT_INTEGER: add(.integer(Int(node.integer)), key: key)
            case TOML_DOCUMENT_FLOAT: add(.double(node.number), key: key)
            case TOML_DOCUMENT_BOOLEAN: add(.bool(node.integer != 0), key: key)
            default: add(.dateTime(Self.text(node)), key: key)
            }
        }

        func close() {
            guard let finished = stack.popLast() else { return }
            add(finished.isArray ? .array(finished.elements) : .table(finished.entries), key: finished.key)
        }

        private func add(_ value: ConfigValue, key: String?) {
            guard let parent = stack.last else {
                root = value
                return
            }
            if parent.isArray {
                parent.elements.append(value)
            } else {
                parent.entries[key ?? ""] = value
            }
        }

        private static func text(_ node: toml_document_node) -> String {
            guard let text = node.text else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: text, count: node.text_length), as: UTF8.self)
        }
    }
}
