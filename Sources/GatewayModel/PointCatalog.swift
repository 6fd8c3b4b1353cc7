/// What a `PointID` stands for: the names the MQTT payloads and the CLI show.
public struct PointDescriptor: Sendable, Equatable, Hashable {
    public var id: PointID
    public var device: String
    public var deviceKind: DeviceKind
    public var point: String
    public var unit: String

    public init(id: PointID, device: String, deviceKind: DeviceKind, point: String, unit: String) {
        self.id = id
        self.device = device
        self.deviceKind = deviceKind
        self.point = point
        self.unit = unit
    }
}

/// An immutable id → descriptor table, built once from the store's `points`
/// table and shared by every stage (lookups are array indexing, no hashing).
public struct PointCatalog: Sendable {
    private var byID: [PointDescriptor?]
    private var byName: [String: PointID]

    public init(_ descriptors: [PointDescriptor]) {
        let maxID = descriptors.map { Int($0.id) }.max() ?? -1
        var table = [PointDescriptor?](repeating: nil, count: maxID + 1)
        var names: [String: PointID] = [:]
        for d in descriptors {
            table[Int(d.id)] = d
            names[PointCatalog.key(d.device, d.point)] = d.id
        }
        byID = table
        byName = names
    }

    public subscript(id: PointID) -> PointDescriptor? {
        let i = Int(id)
        return i >= 0 && i < byID.count ? byID[i] : nil
    }

    public func id(device: String, point: String) -> PointID? {
        byName[PointCatalog.key(device, point)]
    }

    public var descriptors: [PointDescriptor] { byID.compactMap { $0 } }

    private static func key(_ device: String, _ point: String) -> String { device + "\u{1F}" + point }
}
