namespace RuntimeSentinel.Detection.Models;

/// <summary>Read-only access to what a learning workload collected, for offline tools.</summary>
public sealed partial class ModelRuntime
{
    /// <summary>
    /// A copy of the behaviour windows (and process traces) collected for training so far: what <see cref="Train"/>
    /// would fit on now. The collection is kept for training anyway; this copies it and changes nothing, so
    /// <c>sentinel features export</c> writes exactly the vectors the window models are trained on. Offline use only:
    /// the copy is not charged to the memory budget.
    /// </summary>
    public TrainingSet TrainingSnapshot(DateTimeOffset to) => _training.Snapshot(to);
}
