import BufferStore
import Drivers
import Uplink

/// The metrics gatewayd exposes, rendered from one runtime snapshot. Counters
/// of buses and the uplink restart from zero when a reload rebuilds them;
/// Prometheus' `rate()` and `increase()` handle such resets.
enum GatewayMetrics {
    static func render(_ s: RuntimeSnapshot, backlogRecords: Int64, oldestPendingMilliseconds: Int64?, activeAlarms: Int,
                       stalls: [Stall], watchdogPings: UInt64, nowMilliseconds: Int64) -> String {
        var m = PrometheusText()
        let gateway = s.configuration.gateway.id
        m.sample("gatewayd_info", .gauge, "Constant 1, labelled with the gateway id and version.",
                 labels: [("gateway", gateway), ("version", GatewayRuntime.version)], 1)

        for bus in s.buses {
            for d in bus.devices {
                m.sample("gatewayd_device_polls_total", .counter, "Device polls by result (ok or failed).",
                         labels: [("bus", bus.name), ("device", d.id), ("result", "ok")], Double(d.pollsOK))
                m.sample("gatewayd_device_polls_total", .counter, "Device polls by result (ok or failed).",
                         labels: [("bus", bus.name), ("device", d.id), ("result", "failed")], Double(d.pollsFailed))
            }
        }
        for bus in s.buses {
            for d in bus.devices {
                m.sample("gatewayd_device_up", .gauge, "1 when the device's last poll succeeded.",
                         labels: [("bus", bus.name), ("device", d.id)], d.state == .ok ? 1 : 0)
            }
        }
        for bus in s.buses {
            m.sample("gatewayd_bus_utilisation_ratio", .gauge, "Share of the last minute the line was busy with transactions (0-1).",
                     labels: [("bus", bus.name)], bus.utilisation)
        }
        for bus in s.buses {
            m.sample("gatewayd_bus_connected", .gauge, "1 when the bus's port or TCP connection is open.",
                     labels: [("bus", bus.name)], bus.connected ? 1 : 0)
        }
        for bus in s.buses {
            for (name, value) in bus.counters.sorted(by: { $0.key < $1.key }) {
                m.sample("gatewayd_bus_events_total", .counter, "Line-level counters (CRC errors, reopens, transactions...).",
                         labels: [("bus", bus.name), ("event", name)], Double(value))
            }
        }

        if let w = s.writer {
            m.sample("gatewayd_records_stored_total", .counter, "Records committed to the buffer since start.", Double(w.recordsCommitted))
            m.sample("gatewayd_records_evicted_total", .counter, "Records removed by retention or lost to a full memory queue, by whether they had been sent.",
                     labels: [("sent", "false")], Double(w.evictedUnsent))
            m.sample("gatewayd_records_evicted_total", .counter, "Records removed by retention or lost to a full memory queue, by whether they had been sent.",
                     labels: [("sent", "true")], Double(w.evictedSent))
            m.sample("gatewayd_last_seq", .gauge, "The highest seq committed.", Double(w.lastSeq))
            m.sample("gatewayd_buffer_disk_full", .gauge, "1 while the buffer's disk is full.", w.diskFull ? 1 : 0)
            m.sample("gatewayd_buffer_held_in_memory_records", .gauge, "Records held in memory while the disk is full.", Double(w.heldInMemory))
        }
        m.sample("gatewayd_backlog_records", .gauge, "Records in the buffer not yet acknowledged by the broker.", Double(backlogRecords))
        let age = oldestPendingMilliseconds.map { max(0, Double(nowMilliseconds - $0) / 1000) } ?? 0
        m.sample("gatewayd_backlog_oldest_age_seconds", .gauge, "Age of the oldest unacknowledged record (0 when none).", age)

        if s.uplinkConfigured {
            let u = s.uplink
            m.sample("gatewayd_uplink_connected", .gauge, "1 while connected to the MQTT broker.", u?.connected == true ? 1 : 0)
            m.sample("gatewayd_uplink_reconnects_total", .counter, "Reconnects to the broker.", Double(u?.reconnects ?? 0))
            m.sample("gatewayd_records_sent_total", .counter, "Records acknowledged by the broker (PUBACK).", Double(u?.recordsAcknowledged ?? 0))
            m.sample("gatewayd_uplink_messages_published_total", .counter, "MQTT messages published.", Double(u?.messagesPublished ?? 0))
            m.sample("gatewayd_uplink_messages_in_flight", .gauge, "QoS 1 messages awaiting PUBACK.", Double(u?.messagesInFlight ?? 0))
            if let latency = u?.lastAckLatencyMilliseconds {
                m.sample("gatewayd_uplink_puback_latency_seconds", .gauge, "Publish-to-PUBACK time of the last acknowledged message.", latency / 1000)
            }
        }
        m.sample("gatewayd_alarms_active", .gauge, "Alarms raised and not cleared.", Double(activeAlarms))
        m.sample("gatewayd_watchdog_healthy", .gauge, "1 while every bus, the store writer and the uplink make progress.", stalls.isEmpty ? 1 : 0)
        m.sample("gatewayd_watchdog_pings_total", .counter, "WATCHDOG=1 notifications sent to systemd.", Double(watchdogPings))
        m.sample("gatewayd_reloads_total", .counter, "Configuration reloads (SIGHUP) by result.",
                 labels: [("result", "applied")], Double(s.reloadsApplied))
        m.sample("gatewayd_reloads_total", .counter, "Configuration reloads (SIGHUP) by result.",
                 labels: [("result", "rejected")], Double(s.reloadsRejected))
        return m.text
    }
}
