import ArgumentParser

// Owned by the detection work; replaced when it lands.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect", abstract: "Run the configured detectors offline over a replay CSV.")
}
