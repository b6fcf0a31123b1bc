using System.Collections.Frozen;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// The one catalogue of alert categories. Detectors name a category by its constant here, never by a string of their
/// own; <see cref="MitreMapping"/> starts from the entry's technique; alerting counts by the entry's metric label.
/// </summary>
/// <remarks>
/// The names are <c>const</c> rather than the entries themselves being the constants so that the per-item rules
/// (<see cref="MitreMapping"/>'s switch) can match on them, and so that <see cref="Alert.Category"/> and the findings
/// keep carrying the wire string they always did: the JSON, fingerprints and checkpoints stay byte-identical.
/// </remarks>
public static class AlertCategories
{
    // Item novelty: something the workload never did while it learned (baseline, and the catalogue while learning).
    public const string UnexpectedProcess = "unexpected_process";
    public const string UnexpectedLineage = "unexpected_lineage";
    public const string UnexpectedSyscall = "unexpected_syscall";
    public const string UnexpectedFile = "unexpected_file";
    public const string UnexpectedNetwork = "unexpected_network";
    public const string UnexpectedDns = "unexpected_dns";
    public const string UnexpectedListen = "unexpected_listen";
    public const string SensorAlert = "sensor_alert";

    // Rates and volumes against the workload's own learned figures (baseline feature "resource").
    public const string ResourceAnomaly = "resource_anomaly";
    public const string RunAnomaly = "run_anomaly";
    public const string PeerVolume = "peer_volume";
    public const string PeerRate = "peer_rate";
    public const string FailedSessions = "failed_sessions";
    public const string OffHoursActivity = "off_hours_activity";
    public const string ContainerAdded = "container_added";

    // Model detectors.
    public const string BehaviourAnomaly = "behaviour_anomaly";
    public const string RateSpike = "rate_spike";
    public const string ResourceSpike = "resource_spike";
    public const string SyscallSequenceAnomaly = "syscall_sequence_anomaly";

    // Alerting's own.
    public const string AlertBudgetExceeded = "alert_budget_exceeded";

    /// <summary>The metric label of a category the catalogue does not know (none is raised; it bounds the label's values).</summary>
    public const string OtherMetricLabel = "other";

    /// <summary>Every category, in the order of docs/alerts.md's table.</summary>
    public static IReadOnlyList<AlertCategory> All { get; } =
    [
        new(UnexpectedProcess, Severity.Medium, null, "an executable the workload never ran"),
        new(UnexpectedLineage, Severity.Medium, null, "a known executable started by a parent it never had"),
        new(UnexpectedSyscall, Severity.Low, null, "a system call the workload never used"),
        new(UnexpectedFile, Severity.Low, null, "a normalised path the workload never opened"),
        new(UnexpectedNetwork, Severity.Medium, MitreTechniques.NonStandardPort, "an outbound endpoint the workload never contacted"),
        new(UnexpectedDns, Severity.Medium, null, "a DNS name the workload never resolved"),
        new(UnexpectedListen, Severity.Medium, MitreTechniques.NonStandardPort, "a port the workload never listened on or served"),
        new(ResourceAnomaly, Severity.Medium, null, "CPU or memory far above the learned distribution"),
        new(BehaviourAnomaly, Severity.Medium, null, "a behaviour window the workload's PCA model cannot explain"),
        new(RateSpike, Severity.Medium, null, "exec rate, connections, bytes out or error ratio far above recent windows"),
        new(ResourceSpike, Severity.Medium, null, "CPU or memory far above recent windows"),
        new(SyscallSequenceAnomaly, Severity.Medium, null, "a process making its system calls in an order its executable's model finds unlikely"),
        new(RunAnomaly, Severity.Medium, null, "a run of a CronJob or Job sends, connects or executes far more than its earlier runs"),
        new(PeerVolume, Severity.Medium, MitreTechniques.ExfilOverC2, "bytes sent to one peer within a minute far above the most it was sent while learning"),
        new(PeerRate, Severity.Medium, null, "connections to or from one peer within a minute far above the most while learning"),
        new(FailedSessions, Severity.Medium, MitreTechniques.PasswordGuessing, "connections to one peer that fail or close at once, far more often than while learning"),
        new(OffHoursActivity, Severity.Medium, null, "a busy minute in a slot of the day the workload is quiet in"),
        new(ContainerAdded, Severity.High, MitreTechniques.ContainerAdministration, "a container added to a running pod of an active workload (an ephemeral container)"),
        new(SensorAlert, Severity.Info, null, "a sensor's rule that never fired for the workload while it learned"),
        new(AlertBudgetExceeded, Severity.Medium, null, "a workload's incidents held back by the alert budget, summarised"),
    ];

    private static readonly FrozenDictionary<string, AlertCategory> ByName = All.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal);

    /// <summary>The entry of a wire name; null for a name the catalogue does not hold.</summary>
    public static AlertCategory? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The entry of one of this class's names; throws for any other string (a programming error).</summary>
    public static AlertCategory Get(string name) =>
        ByName.TryGetValue(name, out var c) ? c : throw new ArgumentException($"'{name}' is not an alert category", nameof(name));

    /// <summary>The <c>category</c> metric label for an alert's category: the catalogue's, or <see cref="OtherMetricLabel"/>.</summary>
    public static string MetricLabel(string name) => Find(name)?.MetricLabel ?? OtherMetricLabel;
}
