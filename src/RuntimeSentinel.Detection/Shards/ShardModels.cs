using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>
/// One shard's model handling: training a workload's models when it finishes learning (inline, or off the shard with
/// the result coming back as a command), putting promoted versions in service (kept until the workload appears when
/// it is not here yet), what a workload's phase change means for its models, and logging what the memory budget cut.
/// Runs on the shard thread, which alone touches the workloads' model runtimes.
/// </summary>
internal sealed partial class ShardModels
{
    // Promoted versions for workloads not on this shard yet, put in service when their first event arrives (bounded).
    private readonly Dictionary<WorkloadKey, WorkloadModel> _pending = new();
    private readonly ModelStore? _store;
    private readonly DetectionOptions _options;
    private readonly DetectionMetrics _metrics;
    private readonly ShardShared _shared;
    private readonly ILogger _logger;
    private readonly Func<ShardCommand, ValueTask<bool>> _post;

    /// <param name="post">Queues a command for the shard thread: how a model trained in the background comes back.</param>
    public ShardModels(ShardContext context, Func<ShardCommand, ValueTask<bool>> post)
    {
        _options = context.Options;
        _metrics = context.Metrics;
        _shared = context.Shared;
        _logger = context.Logger;
        _post = post;
        _store = string.IsNullOrEmpty(_options.Models.Directory) ? null : new ModelStore(_options.Models.Directory);
    }

    /// <summary>Promoted versions waiting for their workload to appear.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>
    /// Puts a promoted version in service for a workload (<paramref name="state"/>, or null when it is not on the shard:
    /// then the version waits for it, unless models are off).
    /// </summary>
    public FeedbackResult Swap(WorkloadKey key, WorkloadModel model, WorkloadState? state)
    {
        if (state?.Models is not { } models)
        {
            if (!_options.Models.Enabled)
            {
                _metrics.ModelSwaps.WithLabels("rejected").Inc();
                return FeedbackResult.Rejected;
            }

            if (_pending.Count >= 1000 && !_pending.ContainsKey(key))
            {
                _pending.Remove(_pending.Keys.First());
            }

            _pending[key] = model;
            _metrics.ModelSwaps.WithLabels("pending").Inc();
            return FeedbackResult.Pending;
        }

        // A model the memory budget cannot hold is not in service: counted as rejected, like a broken one.
        var served = models.Swap(model, promoted: true);
        _metrics.ModelSwaps.WithLabels(served ? "applied" : "rejected").Inc();
        ReportFit(model.Card.Workload, model.Card.Version, models);
        return served ? FeedbackResult.Applied : FeedbackResult.Rejected;
    }

    /// <summary>A workload got state on the shard: a promoted version waiting for it goes in service now.</summary>
    public void Appeared(WorkloadKey key, WorkloadState state)
    {
        if (state.Models is { } models && _pending.Remove(key, out var pending))
        {
            _metrics.ModelSwaps.WithLabels(models.Swap(pending, promoted: true) ? "applied" : "rejected").Inc();
            ReportFit(key.Value, pending.Card.Version, models);
        }
    }

    /// <summary>A workload came back from its checkpoint with its model, put in service or refused by the budget.</summary>
    public void Restored(WorkloadKey key, WorkloadModel model, bool served, ModelRuntime models)
    {
        _metrics.ModelSwaps.WithLabels(served ? "applied" : "rejected").Inc();
        ReportFit(key.Value, model.Card.Version, models);
    }

    /// <summary>What a phase change means for the workload's models: relearning forgets them, learning's end trains them.</summary>
    public void PhaseChanged(WorkloadKey key, WorkloadState state, BaselinePhase from, DateTimeOffset now)
    {
        if (state.Models is not { } models)
        {
            return;
        }

        switch (state.Phase)
        {
            case BaselinePhase.Stale:
                LogRelearning(_logger, key.Value, state.Baseline.RelearnedFor ?? "?");
                models.Reset();
                break;
            case BaselinePhase.Shadow or BaselinePhase.Active when from is BaselinePhase.Learning or BaselinePhase.Stale:
                Train(key, state, models, now);
                break;
            case BaselinePhase.Active when from == BaselinePhase.Shadow:
                foreach (var detector in models.ConfirmShadow(_options.Models.ShadowDuration))
                {
                    _metrics.ThresholdsRecalibrated.Inc();
                    LogRecalibrated(_logger, key.Value, detector, models.Model?.ThresholdOf(detector) ?? double.NaN);
                }

                break;
        }
    }

    /// <summary>
    /// A model trained in the background arrives (on the shard thread, between two events); <paramref name="current"/>
    /// is the workload's state now, or null when it was evicted meanwhile.
    /// </summary>
    public FeedbackResult Install(ShardCommand.InstallTrained trained, WorkloadState? current) =>
        Installed(trained.Key, trained.Models, trained.Job, current, trained.Model, trained.Error);

    private void Train(WorkloadKey key, WorkloadState state, ModelRuntime models, DateTimeOffset now)
    {
        if (models.Promoted)
        {
            // A data scientist's promoted version is in service; it is not replaced by an automatic one.
            models.DiscardTraining();
            return;
        }

        var version = "auto-" + now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var known = _options.Models.SaveTrained ? KnownItems.From(state.Baseline) : null;
        if (_options.Models.TrainInBackground)
        {
            // Off the shard: its other workloads (and the consume loop behind it) go on meanwhile; the model comes
            // back as a command, between two events, like a hot swap.
            var job = models.TakeTraining(now, version, "daemon", known);
            _ = Task.Run(async () =>
            {
                WorkloadModel? trained = null;
                Exception? error = null;
                try
                {
                    trained = job.Build();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    error = ex;
                }
                finally
                {
                    job.Dispose(); // released before the model reserves its own memory: never both needed
                }

                // From a pool thread, never the shard's: waiting here for room in the command queue is safe. A shard
                // that stopped meanwhile does not take it; the model is dropped like one for an evicted workload.
                await _post(new ShardCommand.InstallTrained(key, models, job, trained, error)).ConfigureAwait(false);
            });
            return;
        }

        try
        {
            Installed(key, models, null, state, models.Train(now, version, "daemon", known), null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Installed(key, models, null, state, null, ex);
        }
    }

    /// <summary>Puts a model trained for a workload in service (on the shard thread), unless the workload moved on.</summary>
    /// <param name="job">The background job it came from; null when it was trained inline (and already installed).</param>
    private FeedbackResult Installed(WorkloadKey key, ModelRuntime models, ModelRuntime.TrainingJob? job, WorkloadState? current, WorkloadModel? model, Exception? error)
    {
        if (error is not null)
        {
            _metrics.ModelsTrained.WithLabels("failed").Inc();
            LogModelFailed(_logger, error, key.Value);
            return FeedbackResult.Rejected;
        }

        if (model is null)
        {
            _metrics.ModelsTrained.WithLabels("insufficient_data").Inc();
            LogModelInsufficient(_logger, key.Value);
            return FeedbackResult.Rejected;
        }

        if (job is not null)
        {
            // Evicted, relearning, or a data scientist's version promoted meanwhile: this model is not wanted any more.
            if (current is null || !ReferenceEquals(current.Models, models) || !job.StillCurrent || models.Promoted)
            {
                _metrics.ModelsTrained.WithLabels("discarded").Inc();
                return FeedbackResult.Rejected;
            }

            models.Swap(model);
        }

        _metrics.ModelsTrained.WithLabels("trained").Inc();
        LogModelTrained(_logger, key.Value, model.Card.Version, string.Join(", ", model.Card.Thresholds.Select(t => $"{t.Key}={t.Value:0.###}")));
        if (models.LastFit is not null)
        {
            ReportFit(key.Value, model.Card.Version, models);
        }

        try
        {
            if (_store is not null && _options.Models.SaveTrained)
            {
                model.Save(_store.VersionPath(key.Value, model.Card.Version));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogModelFailed(_logger, ex, key.Value);
        }

        return FeedbackResult.Applied;
    }

    /// <summary>Logs what the memory budget cut from the model just put in service (or that it refused it).</summary>
    private void ReportFit(string workload, string version, ModelRuntime models)
    {
        switch (models.LastFit)
        {
            case null:
                LogModelSwapped(_logger, workload, version);
                break;
            case MemoryRefusal.Model:
                LogModelRefused(_logger, workload, version, _shared.ModelMemory.Used, _shared.ModelMemory.Limit);
                break;
            case { } cut:
                LogModelTrimmed(_logger, workload, version, cut.ToWire(), _shared.ModelMemory.Used, _shared.ModelMemory.Limit);
                break;
        }
    }
}
