namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// How far a workload's recent behaviour windows have moved from the ones its model was trained on (config section
/// <c>Detection:Models:Drift</c>): the population stability index per feature against the model card's reference
/// histograms, over a rolling window of event time (docs/data-science.md, "Drift").
/// </summary>
public sealed class DriftOptions
{
    /// <summary>Track drift for every workload whose model card carries a reference (a small, fixed cost per workload).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The recent behaviour compared with training: the windows of the last hour of the workload's event time.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Slices the rolling window is kept in (12: five minutes each by default). Drift is evaluated each time a slice
    /// closes, over the whole window; memory is slices × bins × 4 bytes per workload.
    /// </summary>
    public int Slots { get; set; } = 12;

    /// <summary>
    /// Windows the rolling window must hold before drift is computed (fewer: "unknown"). PSI of a sample is biased
    /// upwards by about (bins − 1) / windows even without any shift, so a small sample would look like drift.
    /// </summary>
    public int MinWindows { get; set; } = 100;

    /// <summary>The drift (largest feature PSI) at or above which a workload counts as drifting; 0.25 is the usual "significant shift" rule of thumb.</summary>
    public double Threshold { get; set; } = 0.25;

    /// <summary>Consecutive evaluations at or above <see cref="Threshold"/> before a retrain is suggested (6 × 5 min: half an hour).</summary>
    public int SustainedEvaluations { get; set; } = 6;

    /// <summary>Features listed with each workload's drift (the most shifted first).</summary>
    public int TopFeatures { get; set; } = 3;

    /// <summary>Workloads exported in <c>sentinel_workload_drift_top</c> (the most drifting; K series at most).</summary>
    public int MetricTopWorkloads { get; set; } = 5;

    /// <summary>Length of one slice, on which evaluations happen.</summary>
    public TimeSpan SlotLength => Window / Math.Max(1, Slots);

    /// <summary>Appends every invalid setting (as <c>Detection:Models:Drift:…</c>).</summary>
    public void Validate(List<string> errors)
    {
        const string S = "Detection:Models:Drift:";
        if (Slots is < 1 or > 240)
        {
            errors.Add(S + "Slots must be between 1 and 240.");
        }

        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromDays(7) || (Slots >= 1 && SlotLength < TimeSpan.FromMilliseconds(100)))
        {
            errors.Add(S + "Window must be between 1 second and 7 days, and at least 100 ms per slot.");
        }

        if (MinWindows is < 1 or > 1_000_000)
        {
            errors.Add(S + "MinWindows must be between 1 and 1000000.");
        }

        if (!(Threshold > 0 && Threshold <= 100))
        {
            errors.Add(S + "Threshold must be above 0 and at most 100 (0.25 is the usual significant-shift level).");
        }

        if (SustainedEvaluations is < 1 or > 10_000)
        {
            errors.Add(S + "SustainedEvaluations must be between 1 and 10000.");
        }

        if (TopFeatures is < 1 or > 22)
        {
            errors.Add(S + "TopFeatures must be between 1 and 22.");
        }

        if (MetricTopWorkloads is < 0 or > 100)
        {
            errors.Add(S + "MetricTopWorkloads must be between 0 (no per-workload drift series) and 100.");
        }
    }
}
