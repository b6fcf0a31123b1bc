using System.Globalization;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Daemon.Demo;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// What a command sets over the configuration files and environment, typed. Each property is an option of a known
/// section and becomes the configuration key of that option (built from the options types' names, so renaming an
/// option breaks the build, not a run). Unset properties leave the configuration as it is.
/// </summary>
internal sealed record HostProfile
{
    public string? AlertsFile { get; init; }

    public string? Listen { get; init; }

    public string? AdminListen { get; init; }

    public string? BootstrapServers { get; init; }

    public IReadOnlyList<string>? Topics { get; init; }

    public string? GroupId { get; init; }

    public int? SessionTimeoutMs { get; init; }

    public int? HeartbeatIntervalMs { get; init; }

    public int? StatisticsIntervalMs { get; init; }

    public bool? FeedbackAllowUnsigned { get; init; }

    /// <summary>Detection's clock: "event" for recordings, "processing" live.</summary>
    public string? DetectionClock { get; init; }

    public TimeSpan? LearningDuration { get; init; }

    public int? MinLearningEvents { get; init; }

    public string? ModelsDirectory { get; init; }

    public TimeSpan? ModelWindow { get; init; }

    public TimeSpan? ShadowDuration { get; init; }

    public TimeSpan? SeasonPeriod { get; init; }

    /// <summary>The rolling window drift is measured over (<c>Detection:Models:Drift:Window</c>).</summary>
    public TimeSpan? DriftWindow { get; init; }

    public int? DriftMinWindows { get; init; }

    public bool? ConsoleAlerts { get; init; }

    public TimeSpan? ProcesslessJoinWindow { get; init; }

    public int? DemoSeed { get; init; }

    public double? DemoSpeed { get; init; }

    public bool? DemoExitWhenDone { get; init; }

    /// <summary>Alerting's clock: "event" to group incidents on the events' time, "processing" live.</summary>
    public string? AlertingClock { get; init; }

    public bool? TrainInBackground { get; init; }

    public int? TopicPartitions { get; init; }

    /// <summary>The demo: embedded Kafka, time compressed to seconds, unsigned verdicts from the terminal's reader.</summary>
    public static HostProfile Demo(int learningSeconds, int seed, double speed = 1, bool exitWhenDone = false) => new()
    {
        BootstrapServers = KafkaOptions.Embedded,
        Topics = ["sentinel.events"],

        // The scenario is played on its own clock (DemoEventGenerator): detection and incident grouping follow the
        // events' time, training runs inline (a model comes into service at the same event, however long it took), and
        // one partition keeps the events in the order they were played. A loaded machine then sees the same incidents.
        DetectionClock = "event",
        AlertingClock = "event",
        TrainInBackground = false,
        TopicPartitions = 1,
        GroupId = "sentinel-demo",
        SessionTimeoutMs = 6000,
        HeartbeatIntervalMs = 500,
        StatisticsIntervalMs = 2000,
        LearningDuration = TimeSpan.FromSeconds(Math.Max(1, learningSeconds)),
        MinLearningEvents = 300,

        // Half-second behaviour windows give the models enough windows in under a minute of learning; attacks start
        // once the shadow (a quarter of learning, 2-10 s) has confirmed the thresholds.
        ModelWindow = TimeSpan.FromSeconds(0.5),
        ShadowDuration = TimeSpan.FromSeconds(Math.Clamp(learningSeconds / 4.0, 2, 10)),
        SeasonPeriod = TimeSpan.Zero,

        // Drift over the last minute of the scenario (12 slices of 5 s; at least 60 half-second windows) instead of an
        // hour, so /workloads and the dashboard show it within the demo's few minutes.
        DriftWindow = TimeSpan.FromMinutes(1),
        DriftMinWindows = 60,

        // A processless model alert (a CPU spike) joins its workload's incident within three windows, as 30 s is three of
        // the default 10 s windows; with half-second windows, attacks seconds apart stay separate incidents.
        ProcesslessJoinWindow = TimeSpan.FromSeconds(1.5),

        // The demo's analysts are the reader of this terminal: verdicts need no signature here (never in production).
        FeedbackAllowUnsigned = true,
        DemoSeed = seed,
        DemoSpeed = speed,
        DemoExitWhenDone = exitWhenDone,
    };

    /// <summary>
    /// A replay into the embedded Kafka, read as <c>evaluate stream</c> reads a recording: detection and incident
    /// grouping on the event clock (any replay speed behaves like the recording), models trained inline, and one
    /// partition so the daemon sees the records in the order they were published. The same recording then gives the
    /// same incidents through either command.
    /// </summary>
    public static HostProfile Replay(string topic, double? learningSeconds, bool json) => new()
    {
        BootstrapServers = KafkaOptions.Embedded,
        Topics = [topic],
        GroupId = "sentinel-replay",
        SessionTimeoutMs = 6000,
        HeartbeatIntervalMs = 500,
        DetectionClock = "event",
        AlertingClock = "event",
        TrainInBackground = false,
        TopicPartitions = 1,
        LearningDuration = learningSeconds is { } s ? TimeSpan.FromSeconds(Math.Max(0, s)) : null,
        MinLearningEvents = learningSeconds is null ? null : RecordingLearning.MinEventsWithShortLearning,
        ConsoleAlerts = !json,
    };

    /// <summary>The configuration keys and values this profile sets.</summary>
    public Dictionary<string, string?> ToConfiguration()
    {
        var c = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        void Set(string key, object? value)
        {
            if (value is not null)
            {
                c[key] = value switch
                {
                    TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
                    bool b => b ? "true" : "false",
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    _ => value.ToString(),
                };
            }
        }

        const string Http = HttpOptions.SectionName, Kafka = KafkaOptions.SectionName, Detection = DetectionOptions.SectionName, Alerting = AlertingOptions.SectionName;
        const string Models = Detection + ":" + nameof(DetectionOptions.Models);
        Set($"{Http}:{nameof(HttpOptions.Listen)}", Listen);
        Set($"{Http}:{nameof(HttpOptions.AdminListen)}", AdminListen);
        Set($"{Alerting}:{nameof(AlertingOptions.File)}", AlertsFile);
        Set($"{Alerting}:{nameof(AlertingOptions.Console)}", ConsoleAlerts);
        Set($"{Alerting}:{nameof(AlertingOptions.ProcesslessJoinWindow)}", ProcesslessJoinWindow);
        Set($"{Alerting}:{nameof(AlertingOptions.Clock)}", AlertingClock);
        Set($"{Kafka}:{nameof(KafkaOptions.TopicPartitions)}", TopicPartitions);
        Set($"{Models}:{nameof(ModelOptions.TrainInBackground)}", TrainInBackground);
        Set($"{Kafka}:{nameof(KafkaOptions.BootstrapServers)}", BootstrapServers);
        for (var i = 0; i < (Topics?.Count ?? 0); i++)
        {
            Set($"{Kafka}:{nameof(KafkaOptions.Topics)}:{i}", Topics![i]);
        }

        Set($"{Kafka}:{nameof(KafkaOptions.GroupId)}", GroupId);
        Set($"{Kafka}:{nameof(KafkaOptions.SessionTimeoutMs)}", SessionTimeoutMs);
        Set($"{Kafka}:{nameof(KafkaOptions.HeartbeatIntervalMs)}", HeartbeatIntervalMs);
        Set($"{Kafka}:{nameof(KafkaOptions.StatisticsIntervalMs)}", StatisticsIntervalMs);
        Set($"{Kafka}:{nameof(KafkaOptions.FeedbackAllowUnsigned)}", FeedbackAllowUnsigned);
        Set($"{Detection}:{nameof(DetectionOptions.Clock)}", DetectionClock);
        Set($"{Detection}:{nameof(DetectionOptions.LearningDuration)}", LearningDuration);
        Set($"{Detection}:{nameof(DetectionOptions.MinLearningEvents)}", MinLearningEvents);
        Set($"{Models}:{nameof(ModelOptions.Directory)}", ModelsDirectory);
        Set($"{Models}:{nameof(ModelOptions.Window)}", ModelWindow);
        Set($"{Models}:{nameof(ModelOptions.ShadowDuration)}", ShadowDuration);
        Set($"{Models}:{nameof(ModelOptions.SeasonPeriod)}", SeasonPeriod);
        Set($"{Models}:{nameof(ModelOptions.Drift)}:{nameof(DriftOptions.Window)}", DriftWindow);
        Set($"{Models}:{nameof(ModelOptions.Drift)}:{nameof(DriftOptions.MinWindows)}", DriftMinWindows);
        Set($"{DemoOptions.SectionName}:{nameof(DemoOptions.Seed)}", DemoSeed);
        Set($"{DemoOptions.SectionName}:{nameof(DemoOptions.Speed)}", DemoSpeed);
        Set($"{DemoOptions.SectionName}:{nameof(DemoOptions.ExitWhenDone)}", DemoExitWhenDone);
        return c;
    }
}
