#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Modbus RTU served on the master side of a pseudo-terminal, for every
/// simulated unit on that line (one RS-485 bus with several slaves).
///
/// libmodbus's own RTU receive drops requests for any slave id but its own
/// and then swallows the next frame as that slave's answer, which breaks a
/// multi-unit line; so framing happens here (length from the function code,
/// CRC check, resync on a bad CRC or a silence) and libmodbus builds the reply.
final class ModbusRTULine {
    /// A partial frame older than this is noise; the next byte starts a new frame.
    static let silenceNanoseconds: UInt64 = 50_000_000

    let terminal: PseudoTerminal
    let replyBuilder = ModbusReplyBuilder(framing: .rtu)
    private var buffer: [UInt8] = []
    private var lastByteNanoseconds: UInt64 = 0
    private(set) var framesWithBadCRC = 0

    init(link: String) throws {
        terminal = try PseudoTerminal(link: link)
    }

    var hasPartialFrame: Bool { !buffer.isEmpty }

    /// Reads what the client wrote and answers each complete request.
    func readAndServe(plant: ModbusPlant) {
        let now = SimulatedClock.monotonicNanoseconds()
        if !buffer.isEmpty && now - lastByteNanoseconds > ModbusRTULine.silenceNanoseconds {
            endFrameAtSilence(plant: plant)
        }
        let bytes = terminal.readAvailable()
        guard !bytes.isEmpty else { return }
        buffer += bytes
        lastByteNanoseconds = now
        if buffer.count > 1024 {
            // A stream that never pauses and never frames is not Modbus; start over.
            framesWithBadCRC += 1
            buffer.removeAll()
            return
        }
        while !buffer.isEmpty {
            switch RTURequestLength.of(buffer[...]) {
            case .needMore, .untilSilence:
                return
            case .complete(let length):
                guard buffer.count >= length else { return }
                let frame = Array(buffer[0..<length])
                guard ModbusCRC.isValid(frame[...]) else {
                    // Out of step with the client: throw away everything and wait for the next silence.
                    framesWithBadCRC += 1
                    buffer.removeAll()
                    return
                }
                buffer.removeFirst(length)
                answer(frame, plant: plant)
            }
        }
    }

    /// Called when the line has been quiet: what is buffered is one frame, or noise.
    func checkSilence(plant: ModbusPlant) {
        guard !buffer.isEmpty, SimulatedClock.monotonicNanoseconds() - lastByteNanoseconds > ModbusRTULine.silenceNanoseconds else { return }
        endFrameAtSilence(plant: plant)
    }

    private func endFrameAtSilence(plant: ModbusPlant) {
        let frame = buffer
        buffer.removeAll()
        if ModbusCRC.isValid(frame[...]) {
            answer(frame, plant: plant)  // an unknown function code: libmodbus answers 0x01
        } else {
            framesWithBadCRC += 1
        }
    }

    private func answer(_ frame: [UInt8], plant: ModbusPlant) {
        if let reply = plant.answer(frame, with: replyBuilder), !reply.isEmpty {
            // A master sends its next request only after the last answer or a
            // timeout, so anything still unread now is an answer nobody waited
            // for (e.g. the gateway restarted mid-transaction): a real line would
            // not deliver it to the new request.
            terminal.discardUnread()
            terminal.write(reply)
        }
    }
}
