namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// One feature's population stability index in a drift evaluation, less what chance alone gives two samples of the same
/// distribution ((bins − 1)·(1/recent + 1/training windows)), and never below 0.
/// </summary>
public readonly record struct FeatureDrift(string Feature, double Psi);

/// <summary>
/// A workload's drift as of its latest evaluation: how far the behaviour windows of the last
/// <see cref="DriftOptions.Window"/> are from the windows its model (<see cref="ModelVersion"/>) was trained on.
/// Immutable: shards hand it to snapshots, the metrics refresh and <c>/workloads</c> as it is.
/// </summary>
public sealed record DriftSummary
{
    /// <summary>The version whose training windows are the reference; null without a model in service.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The workload's drift: the largest PSI of any feature; null while unknown (<see cref="Unknown"/> says why).</summary>
    public double? Psi { get; init; }

    /// <summary>Why the drift is unknown (no model, a card without a reference, too few recent windows, ...); null when known.</summary>
    public string? Unknown { get; init; }

    /// <summary>The most shifted features, largest PSI first.</summary>
    public IReadOnlyList<FeatureDrift> TopFeatures { get; init; } = [];

    /// <summary>The threshold drift is compared with (<see cref="DriftOptions.Threshold"/>).</summary>
    public double Threshold { get; init; }

    /// <summary>Consecutive evaluations, this one included, with drift at or above the threshold.</summary>
    public int ConsecutiveAbove { get; init; }

    /// <summary>Drift stayed at or above the threshold for <see cref="DriftOptions.SustainedEvaluations"/> evaluations: retrain the model.</summary>
    public bool RetrainSuggested { get; init; }

    /// <summary>The evaluation that first suggested a retrain, while the suggestion holds.</summary>
    public DateTimeOffset? RetrainSuggestedSince { get; init; }

    /// <summary>Behaviour windows in the rolling window at the evaluation.</summary>
    public int Windows { get; init; }

    /// <summary>When (event time) it was evaluated: the end of the rolling window; null before the first evaluation.</summary>
    public DateTimeOffset? EvaluatedAt { get; init; }

    /// <summary>Drift not known, for the reason given.</summary>
    public static DriftSummary NotKnown(string? modelVersion, string reason, double threshold) =>
        new() { ModelVersion = modelVersion, Unknown = reason, Threshold = threshold };

    /// <summary>Neither a model nor drift tracking yet.</summary>
    public static DriftSummary None { get; } = NotKnown(null, "no model in service", new DriftOptions().Threshold);
}
