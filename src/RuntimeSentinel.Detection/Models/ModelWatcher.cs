using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// Watches the model folder for promoted versions (<c>sentinel models promote</c>) and hot-swaps each into the
/// running pipeline: the model is loaded and checked off the hot path, then handed to the owning shard, which puts
/// it in service between two events. A refused model (wrong fingerprint, broken files) is logged and counted once
/// and the version in service stays. The folder is shared by every node, so a version is loaded only for a workload
/// this node tracks; the others are remembered by path and loaded when (and each time) their workload appears.
/// </summary>
internal sealed partial class ModelWatcher : IHostedService, IAsyncDisposable
{
    private readonly DetectionPipeline _pipeline;
    private readonly ModelStore _store;
    private readonly ModelOptions _options;
    private readonly TimeProvider _time;
    private readonly DetectionMetrics _metrics;
    private readonly ILogger<ModelWatcher> _logger;
    private readonly Dictionary<string, string> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<WorkloadKey, (string Path, string Version)> _promoted = new();
    private readonly Lock _promotedLock = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ITimer? _timer;

    private readonly Core.Health.StageHealth _stage;

    public ModelWatcher(DetectionPipeline pipeline, IOptions<DetectionOptions> options, TimeProvider time, DetectionMetrics metrics, ILogger<ModelWatcher> logger, Core.Health.HealthRegistry? health = null)
    {
        _stage = (health ?? new Core.Health.HealthRegistry()).Register("model-watcher");
        _pipeline = pipeline;
        _options = options.Value.Models;
        _store = new ModelStore(_options.Directory ?? throw new InvalidOperationException("Detection:Models:Directory is not set"));
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _pipeline.WorkloadAppeared += OnWorkloadAppeared;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // The first scan runs on the timer, not here: handing a model to a shard waits for the shard loop, which
        // starts with ingestion, possibly after this service; host start-up must not wait on it.
        _timer = _time.CreateTimer(_ => _ = ScanAsync(), null, TimeSpan.Zero, _options.ReloadInterval);
        _stage.Running();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
            _timer = null;
        }

        _stage.Stopped();
    }

    /// <summary>
    /// Loads and swaps in every promoted version not applied yet for a workload this node tracks, and remembers the
    /// rest. Returns how many were put in service or remembered.
    /// </summary>
    public async Task<int> ScanAsync()
    {
        if (!await _gate.WaitAsync(0).ConfigureAwait(false))
        {
            return 0;
        }

        var applied = 0;
        try
        {
            foreach (var (dir, version, path) in _store.Promoted())
            {
                // Any file of the version rewritten (the card, an imported model file) means a reload, which checks it
                // again: a broken or replaced part is refused and the model in service stays.
                var marker = version + "|" + (Directory.Exists(path) ? Directory.EnumerateFiles(path).Select(f => File.GetLastWriteTimeUtc(f).Ticks).DefaultIfEmpty(0).Max() : 0);
                if (_seen.TryGetValue(dir, out var last) && last == marker)
                {
                    continue;
                }

                _seen[dir] = marker;
                WorkloadKey workload;
                try
                {
                    var named = WorkloadModel.ReadCard(path).Workload ?? throw new ModelRejectedException($"{path}: the card names no workload");
                    workload = WorkloadKey.TryParse(named, out var key) ? key : throw new ModelRejectedException($"{path}: the card's workload '{named}' is not a workload key (cluster/namespace/Kind/name/container)");
                }
                catch (ModelRejectedException ex)
                {
                    _metrics.ModelSwaps.WithLabels("rejected").Inc();
                    _stage.ItemFailed(ex.Message);
                    LogRejected(_logger, path, ex.Message);
                    continue;
                }

                lock (_promotedLock)
                {
                    _promoted[workload] = (path, version);
                }

                if (!_pipeline.Tracks(workload))
                {
                    // Not on this node (yet): nothing is loaded until its first event (OnWorkloadAppeared).
                    _metrics.ModelSwaps.WithLabels("pending").Inc();
                    LogPromoted(_logger, workload.Value, version, FeedbackResult.Pending.ToString());
                    applied++;
                }
                else if (await ApplyAsync(workload, path, version).ConfigureAwait(false))
                {
                    applied++;
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The folder vanished, a name is unreadable, a swap failed: the next scan tries again.
            _stage.ItemFailed($"scan: {ex.GetType().Name}: {ex.Message}");
            LogScanFailed(_logger, ex, _store.Root);
        }
        finally
        {
            _gate.Release();
        }

        return applied;
    }

    /// <summary>Loads, checks and swaps in one version; false when it is refused.</summary>
    private async Task<bool> ApplyAsync(WorkloadKey workload, string path, string version)
    {
        try
        {
            var model = WorkloadModel.Load(path);
            var result = await _pipeline.SwapModelAsync(model).ConfigureAwait(false);
            LogPromoted(_logger, workload.Value, version, result.ToString());
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Refused (broken, crafted or foreign parts), removed or rewritten between the scan and the load.
            _metrics.ModelSwaps.WithLabels("rejected").Inc();
            _stage.ItemFailed(ex.Message);
            LogRejected(_logger, path, ex.Message);
            return false;
        }
    }

    private void OnWorkloadAppeared(WorkloadKey workload)
    {
        (string Path, string Version) entry;
        lock (_promotedLock)
        {
            if (!_promoted.TryGetValue(workload, out entry))
            {
                return;
            }
        }

        // Called on a shard thread between two events: loading happens elsewhere, the swap comes back to the shard.
        _ = Task.Run(() => ApplyAsync(workload, entry.Path, entry.Version));
    }

    public async ValueTask DisposeAsync()
    {
        _pipeline.WorkloadAppeared -= OnWorkloadAppeared;
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _gate.Dispose();
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Promoted model {Workload} {Version}: {Result}")]
    private static partial void LogPromoted(ILogger logger, string workload, string version, string result);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "Refused model {Path}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Could not scan the model folder {Root}")]
    private static partial void LogScanFailed(ILogger logger, Exception ex, string root);
}
