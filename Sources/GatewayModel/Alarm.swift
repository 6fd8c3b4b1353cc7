public enum AlarmSeverity: String, Sendable, Codable, CaseIterable {
    case info, warning, critical
}

public enum AlarmState: String, Sendable, Codable {
    case raised, cleared
}

/// An alarm being raised or cleared by a detector. One active alarm per
/// detector and point: `alarmID` names that pair and stays the same between
/// the raise and its clear.
public struct AlarmTransition: Sendable, Equatable, Codable {
    public var alarmID: String
    /// The detector type, e.g. `night_flow`.
    public var type: String
    public var severity: AlarmSeverity
    public var state: AlarmState
    public var pointID: PointID
    public var timestampMilliseconds: Int64
    public var value: Double?
    /// A sentence a person understands, e.g. "night flow 14.2 m3/h is 31 % above its 10.8 m3/h baseline".
    public var message: String

    public init(alarmID: String, type: String, severity: AlarmSeverity, state: AlarmState,
                pointID: PointID, timestampMilliseconds: Int64, value: Double?, message: String) {
        self.alarmID = alarmID
        self.type = type
        self.severity = severity
        self.state = state
        self.pointID = pointID
        self.timestampMilliseconds = timestampMilliseconds
        self.value = value
        self.message = message
    }
}
