// gateway-sim: simulated field devices. Everything is in SimulatorCommand.swift.
SimulatorCommand.main()
