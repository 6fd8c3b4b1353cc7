import GatewayModel

/// The extra fields of events and alarms, kept as a JSON fragment
/// (`"key":value,...` without braces) so the uplink splices it into a payload
/// without decoding.
public enum RecordDetail {
    public static func event(point: String, state: String) -> String {
        "\"point\":\(JSONText.quote(point)),\"state\":\(JSONText.quote(state))"
    }

    public static func alarm(_ a: AlarmTransition, point: String) -> String {
        var s = "\"id\":\(JSONText.quote(a.alarmID)),\"type\":\(JSONText.quote(a.type)),\"severity\":\(JSONText.quote(a.severity.rawValue))"
        s += ",\"state\":\(JSONText.quote(a.state.rawValue)),\"point\":\(JSONText.quote(point)),\"message\":\(JSONText.quote(a.message))"
        return s
    }
}
