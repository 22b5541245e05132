/// The version of pathwayd and pathwayctl, shown by `--version`, `/v1/health` and `/v1/rules`,
/// and written into the start-up audit record.
public enum PathwayVersion {
    public static let current = "0.5.0"
}
