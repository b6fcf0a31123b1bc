using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection;

public sealed partial class DetectionPipeline
{
    /// <summary>The shard's models: training at the end of learning (inline or in the background), hot swaps, what the memory budget cut.</summary>
    private sealed partial class Shard
    {
        public Task<FeedbackResult> SwapModelAsync(WorkloadKey key, WorkloadModel model) => OnShardAsync(() => SwapModel(key, model));

        private FeedbackResult SwapModel(WorkloadKey key, WorkloadModel model)
        {
            var state = _workloads.GetValueOrDefault(key);
            if (state?.Models is not { } models)
            {
                if (!_options.Models.Enabled)
                {
                    _metrics.ModelSwaps.WithLabels("rejected").Inc();
                    return FeedbackResult.Rejected;
                }

                if (_pendingModels.Count >= 1000 && !_pendingModels.ContainsKey(key))
                {
                    _pendingModels.Remove(_pendingModels.Keys.First());
                }

                _pendingModels[key] = model;
                _metrics.ModelSwaps.WithLabels("pending").Inc();
                return FeedbackResult.Pending;
            }

            // A model the memory budget cannot hold is not in service: counted as rejected, like a broken one.
            var served = models.Swap(model, promoted: true);
            _metrics.ModelSwaps.WithLabels(served ? "applied" : "rejected").Inc();
            ReportFit(model.Card.Workload, model.Card.Version, models);
            return served ? FeedbackResult.Applied : FeedbackResult.Rejected;
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

        private void OnPhaseChanged(WorkloadKey key, WorkloadState state, BaselinePhase from, DateTimeOffset now)
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
                    TrainModels(key, models, now);
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

        private void TrainModels(WorkloadKey key, ModelRuntime models, DateTimeOffset now)
        {
            if (models.Promoted)
            {
                // A data scientist's promoted version is in service; it is not replaced by an automatic one.
                models.DiscardTraining();
                return;
            }

            var version = "auto-" + now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
            var known = _options.Models.SaveTrained ? KnownItems.From(_workloads[key].Baseline) : null;
            if (_options.Models.TrainInBackground)
            {
                // Off the shard: its other workloads (and the consume loop behind it) go on meanwhile; the model comes
                // back as a command, between two events, like a hot swap.
                var job = models.TakeTraining(now, version, "daemon", known);
                _ = Task.Run(() =>
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

                    return OnShardAsync(() => InstallTrained(key, models, job, trained, error));
                });
                return;
            }

            try
            {
                InstallTrained(key, models, null, models.Train(now, version, "daemon", known), null);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                InstallTrained(key, models, null, null, ex);
            }
        }

        /// <summary>Puts a model trained for a workload in service (on the shard thread), unless the workload moved on.</summary>
        /// <param name="job">The background job it came from; null when it was trained inline (and already installed).</param>
        private FeedbackResult InstallTrained(WorkloadKey key, ModelRuntime models, ModelRuntime.TrainingJob? job, WorkloadModel? model, Exception? error)
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
                if (!_workloads.TryGetValue(key, out var w) || !ReferenceEquals(w.Models, models) || !job.StillCurrent || models.Promoted)
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
    }
}
