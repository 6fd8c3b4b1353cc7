import GatewayModel
import Logging

/// Where the MQTT password comes from: a plain file, or a systemd credential.
///
/// The rule (also in docs/operations.md):
/// 1. `password_file = "credential:NAME"` → `$CREDENTIALS_DIRECTORY/NAME`
///    (the unit's `LoadCredential=NAME:…`); an error if the daemon runs without credentials.
/// 2. `password_file = "/some/path"` that exists → that file, as always.
/// 3. `password_file` absent or naming a missing file, `username` set, and
///    `$CREDENTIALS_DIRECTORY/mqtt.password` present → the credential (logged once).
/// 4. Otherwise unchanged (a missing file is then reported by the uplink).
enum MQTTPassword {
    static let defaultCredential = "mqtt.password"
    static let credentialPrefix = "credential:"

    /// The password file path the uplink should read, after the rule above.
    static func resolve(settings: UplinkSettings, environment: [String: String], logger: Logger) throws -> String? {
        let credentials = environment["CREDENTIALS_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0 }
        if let file = settings.passwordFile, file.hasPrefix(credentialPrefix) {
            let name = String(file.dropFirst(credentialPrefix.count))
            guard !name.isEmpty, !name.contains("/" as Character) else { throw MQTTPasswordError.badCredentialName(file) }
            guard let credentials else { throw MQTTPasswordError.noCredentialsDirectory(name) }
            return credentials + "/" + name
        }
        if let file = settings.passwordFile, PlainFile.exists(file) { return file }
        if settings.username != nil, let credentials {
            let candidate = credentials + "/" + defaultCredential
            if PlainFile.exists(candidate) {
                logger.info("MQTT password from the systemd credential", metadata: [
                    "credential": "\(defaultCredential)", "password_file": "\(settings.passwordFile ?? "(none)")"])
                return candidate
            }
        }
        return settings.passwordFile
    }
}

enum MQTTPasswordError: Error, CustomStringConvertible {
    case badCredentialName(String)
    case noCredentialsDirectory(String)

    var description: String {
        switch self {
        case .badCredentialName(let v):
            return "uplink.password_file = \"\(v)\": a credential needs a plain name, e.g. \"credential:mqtt.password\""
        case .noCredentialsDirectory(let name):
            return "uplink.password_file names the systemd credential \"\(name)\", but gatewayd runs without credentials "
                + "(no $CREDENTIALS_DIRECTORY): start it through gatewayd.service with LoadCredential=\(name):FILE, "
                + "or set password_file to a file path"
        }
    }
}
