namespace RuntimeSentinel.Detection;

/// <summary>Settings of the per-workload baselines (config section <c>Detection</c>).</summary>
public sealed class DetectionOptions
{
    public const string SectionName = "Detection";

    /// <summary>Cluster name used when events do not carry one.</summary>
    public string Cluster { get; set; } = "local";

    /// <summary>How long a new workload only learns. Together with <see cref="MinLearningEvents"/>: both must be met.</summary>
    public TimeSpan LearningDuration { get; set; } = TimeSpan.FromMinutes(30);

    public long MinLearningEvents { get; set; } = 2000;

    /// <summary>
    /// A CronJob or Job (short-lived pods) learns across runs: it turns active once this many runs (pods) finished,
    /// whatever the time and event count, and each later run is compared with the earlier ones.
    /// </summary>
    public int MinLearningRuns { get; set; } = 3;

    /// <summary>
    /// Baseline detectors that neither learn nor score (by registered name: novelty, resource, run_history, peer_volume,
    /// peer_rate, failed_sessions, activity_profile). Their place in a checkpoint stays, empty.
    /// </summary>
    public string[] DisabledDetectors { get; set; } = [];

    /// <summary>
    /// Detectors turned off for a class of workloads, beside <see cref="DisabledDetectors"/> (which applies to all):
    /// e.g. no time-of-day profile for batch Jobs, no peer-rate baseline for a log shipper's DaemonSet. Every class a
    /// workload matches adds its detectors.
    /// </summary>
    public List<DetectorClassOptions> DetectorClasses { get; set; } = [];

    /// <summary>
    /// On the event clock: a timestamp more than this far ahead of the stream's time is believed only once three events
    /// in a row agree (a skewed sensor clock does not end every learning period at once). Older ones happen "now".
    /// </summary>
    public TimeSpan EventTimeMaxLead { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Detection shards (single-reader queues keyed by workload). 0 means one per core, at most 8.</summary>
    public int Shards { get; set; }

    public int ShardQueueCapacity { get; set; } = 4096;

    /// <summary>Most workloads tracked at once; the longest idle is evicted beyond it.</summary>
    public int MaxWorkloads { get; set; } = 5000;

    /// <summary>
    /// The node's memory for detection state: every baseline's learned items and every workload's models (whose share is
    /// also capped by <c>Models:MemoryBudgetMiB</c>). When it is spent, baselines learn no new items (counted) and idle
    /// learning workloads are evicted before active ones. Keep it below the pod's memory limit minus the runtime's needs.
    /// </summary>
    public int MemoryBudgetMiB { get; set; } = 512;

    /// <summary>Most distinct items learned per feature per workload (paths, endpoints, ...).</summary>
    public int MaxItemsPerFeature { get; set; } = 4096;

    /// <summary>
    /// How much rarer than "never seen" still alerts, in bits of surprisal. 0: only novel items alert; 1: items
    /// seen once in a large baseline alert too. See docs/alerts.md, "Score and threshold".
    /// </summary>
    public double RarityBits { get; set; }

    /// <summary>
    /// A directory in which the workload created at least this many differently named files while learning (temp
    /// files, uploads, caches) is treated as "any name": new names there do not alert unless inherently sensitive.
    /// </summary>
    public int DirectoryWildcardThreshold { get; set; } = 8;

    /// <summary>
    /// After a new image digest (a rollout), how long the workload adapts: it keeps its baseline and models, learns the
    /// new version's new items below high severity silently, and still alerts on high and critical findings. Zero:
    /// forget and relearn from scratch (the workload is blind for a whole learning period).
    /// </summary>
    public TimeSpan AdaptationPeriod { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The cycle of a workload's activity profile: each slot of it learns its busiest minute, and a minute far busier
    /// than its slot ever was (an admin session at an hour the database is never used) is raised as
    /// <c>off_hours_activity</c>. A day by default; compressed in tests. Zero: no profile. Only slots the learning period
    /// covered are judged, so learning should last a cycle for the whole day to count.
    /// </summary>
    public TimeSpan ActivityCycle { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Slots of the activity cycle (24: the hours of a day).</summary>
    public int ActivitySlots { get; set; } = 24;

    /// <summary>
    /// How long the behaviour models leave a workload alone after one of its containers starts once learning is over
    /// (a new replica, a restart): start-up windows are not steady state. Item novelty keeps alerting.
    /// </summary>
    public TimeSpan WarmupPeriod { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The same finding (workload, feature, item) alerts at most once per cooldown.</summary>
    public TimeSpan AlertCooldown { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Resource samples whose robust z-score exceeds this raise resource_anomaly.</summary>
    public double ResourceZThreshold { get; set; } = 6;

    /// <summary>Resource samples needed in learning before resource anomalies are scored.</summary>
    public int ResourceMinSamples { get; set; } = 5;

    /// <summary>
    /// <c>processing</c> (default): learning time and cooldowns follow the daemon's clock. <c>event</c>: they follow
    /// event timestamps, so a recording replayed at any speed learns and alerts as it did live.
    /// </summary>
    public string Clock { get; set; } = "processing";

    public bool UseEventTime => string.Equals(Clock, "event", StringComparison.OrdinalIgnoreCase);

    /// <summary>Most workloads exported with their own metric series (the busiest first); the rest are counted, not exported.</summary>
    public int MaxWorkloadSeries { get; set; } = 200;

    /// <summary>
    /// How often each workload whose baseline changed is checkpointed to the state store (also on revoke, eviction and
    /// stop). Zero: only on revoke, eviction and stop.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Largest checkpoint record; a larger one is written without its model (the workload retrains it).</summary>
    public int CheckpointMaxBytes { get; set; } = 900 * 1024;

    /// <summary>How often per-workload and calibration metrics are refreshed.</summary>
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Alert budget the thresholds aim for; exported beside the measured rate for dashboards and alert rules.</summary>
    public double TargetAlertsPerWorkloadDay { get; set; } = 1;

    /// <summary>How network peers are identified (section <c>Detection:Network</c>).</summary>
    public Core.Workloads.NetworkOptions Network { get; set; } = new();

    /// <summary>Behaviour, sequence and spike models (section <c>Detection:Models</c>).</summary>
    public Models.ModelOptions Models { get; set; } = new();

    public int EffectiveShards => Shards > 0 ? Shards : Math.Clamp(Environment.ProcessorCount, 1, 8);
}

/// <summary>
/// A class of workloads, by glob patterns (<c>*</c>, <c>?</c>) on its key's parts (an empty list matches all), and the
/// baseline detectors it turns off.
/// </summary>
public sealed class DetectorClassOptions
{
    public List<string> Namespaces { get; set; } = [];

    /// <summary>Top owner kinds: Deployment, StatefulSet, DaemonSet, CronJob, Job, Pod.</summary>
    public List<string> OwnerKinds { get; set; } = [];

    public List<string> Owners { get; set; } = [];

    public List<string> Containers { get; set; } = [];

    /// <summary>Detector names turned off for the class: baseline detectors (neither learn nor score) or model kinds (not served).</summary>
    public List<string> Disabled { get; set; } = [];

    internal bool Matches(Core.Workloads.WorkloadKey key) =>
        Any(Namespaces, key.Namespace) && Any(OwnerKinds, key.OwnerKind) && Any(Owners, key.OwnerName) && Any(Containers, key.Container);

    private static bool Any(List<string> patterns, string value) =>
        patterns.Count == 0 || patterns.Exists(p => System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(p, value, ignoreCase: false));
}
