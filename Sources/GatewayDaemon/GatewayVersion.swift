/// The version reported by `--version` and in the `status` payload.
enum GatewayVersion {
    static let string = "0.1.0"
}
