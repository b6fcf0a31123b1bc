using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// <c>model.json</c>: what a model version is, how it was trained and how well it did, next to its files.
/// The feature fingerprint ties it to the code that computes the features; a mismatch is refused on load.
/// </summary>
public sealed record ModelCard
{
    public const string SchemaId = "sentinel.model/v1";

    public string Schema { get; init; } = SchemaId;

    public required string Workload { get; init; }

    public required string Version { get; init; }

    public required string Fingerprint { get; init; }

    public required string[] FeatureSchema { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public string CodeVersion { get; init; } = CurrentCodeVersion;

    public required TrainingInfo Training { get; init; }

    public required double WindowSeconds { get; init; }

    public required double TargetAlertsPerDay { get; init; }

    /// <summary>Calibrated threshold per detector (behaviour_pca, sequence, spike:&lt;series&gt;).</summary>
    public required Dictionary<string, double> Thresholds { get; init; }

    /// <summary>Held-back evaluation per detector.</summary>
    public required Dictionary<string, HeldBackFigures> Evaluation { get; init; }

    public double[]? ScalerMean { get; init; }

    public double[]? ScalerScale { get; init; }

    public int PcaRank { get; init; }

    /// <summary>Recent training values of each spike series, to seed the live detectors.</summary>
    public Dictionary<string, double[]> SpikeHistory { get; init; } = [];

    public int SequenceOrder { get; init; }

    public int SequenceWindow { get; init; }

    public string[] SequenceExecutables { get; init; } = [];

    /// <summary>
    /// Each behaviour feature's training distribution, for measuring drift in service; null in cards written before
    /// drift was recorded (their workloads' drift is unknown).
    /// </summary>
    public DriftReference? DriftReference { get; init; }

    /// <summary>File names of the model's parts, relative to the version folder.</summary>
    public Dictionary<string, string> Files { get; init; } = [];

    public static string CurrentCodeVersion { get; } =
        typeof(ModelCard).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <param name="DataSha256">
/// SHA-256 of the workload's training events in the order they were learned, each in native schema v1 (one JSON line
/// per event): two versions with the same digest and options were trained on the same data. Set by offline training.
/// </param>
public sealed record TrainingInfo(DateTimeOffset From, DateTimeOffset To, long Events, int Windows, int HeldBackWindows, long Syscalls, int Processes, string Source, string? DataSha256 = null);

/// <summary>Scores of held-back normal data under the calibrated threshold.</summary>
public sealed record HeldBackFigures(int Scores, double Median, double P99, double Max, double Threshold, int Exceeding, double ExpectedAlertsPerDay);

/// <summary>A model refused on load (wrong fingerprint, missing part, unreadable card), with the reason.</summary>
public sealed class ModelRejectedException(string message, Exception? inner = null) : Exception(message, inner);
