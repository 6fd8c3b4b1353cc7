import CMosquitto
import GatewayModel

#if canImport(Glibc)
import Glibc
#endif

/// What libmosquitto tells us, forwarded from its network thread.
enum SessionSignal {
    case connected(code: Int32, reason: String)
    case disconnected(code: Int32)
    case acknowledged(mid: Int32)
    case message(topic: String, payload: [UInt8])
    case log(level: Int32, text: String)
}

/// One libmosquitto client with its own network thread (`mosquitto_loop_start`).
///
/// Callbacks run on libmosquitto's thread and only forward a `SessionSignal`
/// to `onSignal`. `publish`/`subscribe` are thread-safe in libmosquitto 2.x.
final class MosquittoSession: @unchecked Sendable {
    // Invariant: `handle` is created in init and destroyed in deinit after the loop thread stopped.
    private let handle: OpaquePointer
    private let onSignal: (SessionSignal) -> Void
    private var loopStarted = false

    private static let libraryReady: Bool = {
        mosquitto_lib_init()
        return true
    }()

    init(clientID: String, onSignal: @escaping (SessionSignal) -> Void) throws {
        _ = MosquittoSession.libraryReady
        self.onSignal = onSignal
        guard let h = mosquitto_new(clientID, true, nil) else {
            throw UplinkError.setup("cannot create an MQTT client (\(String(cString: strerror(errno))))")
        }
        handle = h
        mosquitto_user_data_set(h, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_int_option(h, MOSQ_OPT_PROTOCOL_VERSION, Int32(MQTT_PROTOCOL_V311))
        mosquitto_connect_callback_set(h) { _, obj, rc in
            MosquittoSession.from(obj).onSignal(.connected(code: rc, reason: String(cString: mosquitto_connack_string(rc))))
        }
        mosquitto_disconnect_callback_set(h) { _, obj, rc in
            MosquittoSession.from(obj).onSignal(.disconnected(code: rc))
        }
        mosquitto_publish_callback_set(h) { _, obj, mid in
            MosquittoSession.from(obj).onSignal(.acknowledged(mid: mid))
        }
        mosquitto_message_callback_set(h) { _, obj, msg in
            guard let msg else { return }
            let m = msg.pointee
            let topic = m.topic.map { String(cString: $0) } ?? ""
            let payload = m.payloadlen > 0 && m.payload != nil
                ? Array(UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen))) : []
            MosquittoSession.from(obj).onSignal(.message(topic: topic, payload: payload))
        }
        mosquitto_log_callback_set(h) { _, obj, level, text in
            // Only errors and warnings explain anything to a technician; debug lines would cost a String and a wake-up each.
            guard let text, level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) != 0 else { return }
            MosquittoSession.from(obj).onSignal(.log(level: level, text: String(cString: text)))
        }
    }

    deinit {
        if loopStarted { mosquitto_loop_stop(handle, true) }
        mosquitto_destroy(handle)
    }

    private static func from(_ obj: UnsafeMutableRawPointer?) -> MosquittoSession {
        Unmanaged<MosquittoSession>.fromOpaque(obj!).takeUnretainedValue()
    }

    func setCredentials(username: String, password: String?) throws {
        try check(mosquitto_username_pw_set(handle, username, password), "setting the MQTT username")
    }

    /// Server verification against `caFile`, optional client certificate (mutual TLS).
    func setTLS(caFile: String?, certFile: String?, keyFile: String?) throws {
        let rc = mosquitto_tls_set(handle, caFile, caFile == nil ? "/etc/ssl/certs" : nil, certFile, keyFile, nil)
        if rc != Int32(MOSQ_ERR_SUCCESS.rawValue) {
            throw UplinkError.setup("cannot use the TLS files (ca_file \(caFile ?? "system store"), cert_file \(certFile ?? "-"), key_file \(keyFile ?? "-")): \(MosquittoSession.describe(rc))")
        }
        try check(mosquitto_tls_opts_set(handle, 1, "tlsv1.2", nil), "setting TLS options")
    }

    func setWill(topic: String, payload: String) throws {
        try check(mosquitto_will_set(handle, topic, Int32(payload.utf8.count), payload, 1, true), "setting the last will")
    }

    func setReconnectDelay(minSeconds: UInt32, maxSeconds: UInt32) {
        mosquitto_reconnect_delay_set(handle, max(minSeconds, 1), max(maxSeconds, minSeconds, 1), true)
    }

    /// Starts connecting in the background; results arrive as signals. libmosquitto's
    /// thread reconnects by itself after a loss, with the delay set above.
    /// - Returns: why the first attempt failed at once (refused, TLS, DNS), or nil.
    ///   Never fatal: the network thread keeps retrying while the gateway buffers.
    func start(host: String, port: Int, keepAliveSeconds: Int) throws -> String? {
        let rc = mosquitto_connect_async(handle, host, Int32(port), Int32(keepAliveSeconds))
        try check(mosquitto_loop_start(handle), "starting the MQTT network thread")
        loopStarted = true
        guard rc != Int32(MOSQ_ERR_SUCCESS.rawValue) else { return nil }
        let reason = MosquittoSession.describe(rc)
        mosquitto_reconnect_async(handle)
        return reason
    }

    /// Queues a QoS 1 publish; returns its message id, or nil if there is no connection.
    func publish(topic: String, payload: UnsafeRawBufferPointer, retain: Bool = false) -> Int32? {
        var mid: Int32 = 0
        let rc = mosquitto_publish(handle, &mid, topic, Int32(payload.count), payload.baseAddress, 1, retain)
        return rc == Int32(MOSQ_ERR_SUCCESS.rawValue) ? mid : nil
    }

    func publish(topic: String, text: String, retain: Bool = false) -> Int32? {
        var t = text
        return t.withUTF8 { publish(topic: topic, payload: UnsafeRawBufferPointer($0), retain: retain) }
    }

    func subscribe(_ topic: String) {
        _ = mosquitto_subscribe(handle, nil, topic, 1)
    }

    func disconnect() {
        _ = mosquitto_disconnect(handle)
    }

    func stopLoop() {
        if loopStarted {
            mosquitto_loop_stop(handle, false)
            loopStarted = false
        }
    }

    private func check(_ rc: Int32, _ doing: String) throws {
        if rc != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw UplinkError.setup("\(doing): \(MosquittoSession.describe(rc))") }
    }

    static func describe(_ rc: Int32) -> String {
        if rc == Int32(MOSQ_ERR_ERRNO.rawValue) { return String(cString: strerror(errno)) }
        return String(cString: mosquitto_strerror(rc))
    }
}
