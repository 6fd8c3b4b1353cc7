import Detection
import GatewayModel

extension ConfigDocument {
    /// Keys of `[[detector]]` the reader itself interprets; all others are parameters for Detection.
    static let detectorKeys = ["type", "device", "point"]

    func readDetectors(devices: DeclaredDevices) -> [DetectorConfiguration] {
        var detectors: [DetectorConfiguration] = []
        for section in root.tables("detector") {
            var usable = true
            var type: String?
            if section.has("type") {
                if let t = section.string("type") {
                    if DetectorRegistry.types.contains(t) {
                        type = t
                    } else {
                        var message = "unknown detector type \(ConfigValue.quote(t))"
                        if let guess = Spelling.closest(to: t, among: DetectorRegistry.types) { message += " (did you mean \"\(guess)\"?)" }
                        section.report("type", message + "; known types: " + DetectorRegistry.types.joined(separator: ", "))
                    }
                }
            } else {
                section.reportMissing("type", "which detector to run, one of: " + DetectorRegistry.types.joined(separator: ", "))
            }
            let device = section.requiredString("device", "the id of the device whose readings this detector watches")
            let point = section.string("point")
            if section.has("point") && point == nil { usable = false }
            if let point, point.isEmpty { section.report("point", "must not be empty; leave it out to use the detector's default point"); usable = false }

            if purpose == .gateway, let device {
                if let names = devices.pointNames[device] {
                    if let names, let point, !point.isEmpty, !names.contains(point) {
                        var message = "device \(ConfigValue.quote(device)) has no point \(ConfigValue.quote(point))"
                        if let guess = Spelling.closest(to: point, among: names) { message += " (did you mean \"\(guess)\"?)" }
                        else if !names.isEmpty { message += "; its points: " + names.joined(separator: ", ") }
                        section.report("point", message)
                        usable = false
                    }
                } else {
                    var message = "no [[device]] has id \(ConfigValue.quote(device))"
                    if let guess = Spelling.closest(to: device, among: devices.ids) { message += " (did you mean \"\(guess)\"?)" }
                    section.report("device", message)
                    usable = false
                }
            }

            var parameters: [String: ConfigScalar] = [:]
            var parameterLines: [String: Int] = [:]
            for (key, value) in section.values.sorted(by: { $0.key < $1.key }) where !ConfigDocument.detectorKeys.contains(key) {
                parameterLines[key] = section.line(of: key)
                switch value {
                case .string(let s): parameters[key] = .string(s)
                case .integer(let i): parameters[key] = .integer(i)
                case .double(let d): parameters[key] = .double(d)
                case .bool(let b): parameters[key] = .bool(b)
                default:
                    section.report(key, "detector parameters are single values (a number, text in quotes, or true/false); found \(value.quoted)")
                    usable = false
                }
            }
            guard let type, let device else { continue }
            let configuration = DetectorConfiguration(type: type, device: device, point: point, parameters: parameters,
                                                      line: section.line, parameterLines: parameterLines)
            let problems = DetectorRegistry.validate(configuration)
            for problem in problems {
                let path = problem.key.isEmpty ? section.path : section.keyPath(problem.key)
                let line = parameterLines[problem.key] ?? (section.has(problem.key) ? section.line(of: problem.key) : section.line)
                section.log.report(path, problem.message, line: line)
            }
            if usable && problems.isEmpty { detectors.append(configuration) }
        }
        return detectors
    }
}
