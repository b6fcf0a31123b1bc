using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Models;

/// <summary>A model detector's candidate alert.</summary>
public sealed record ModelFinding(
    string Detector,
    string Category,
    Severity Severity,
    double Score,
    double Threshold,
    IReadOnlyList<DetectorScore> Detectors,
    IReadOnlyList<FeatureContribution> TopFeatures,
    string Reason,
    string Observed)
{
    /// <summary>The events that made the window (or process run) stand out; empty means the triggering event.</summary>
    public IReadOnlyList<RuntimeEvent> Evidence { get; init; } = [];

    public double Combined => Detectors.Count == 0 ? Score / Threshold : Detectors.Max(d => d.Score / d.Threshold);
}

/// <summary>
/// The model side of one workload, owned by its detection shard: cuts events into behaviour windows, keeps each
/// process's syscall stream, collects training data while the workload learns, trains and calibrates the models
/// when learning ends, and scores afterwards (in shadow without alerting, then active). Every structure is bounded.
/// </summary>
public sealed class ModelRuntime
{
    /// <summary>Behaviour windows kept for training: 20,000 × 22 features × 4 bytes, at most about 1.8 MB.</summary>
    public const int MaxTrainingWindows = 20_000;

    // Memory estimates charged to the budget (array headers, list slack and dictionary entries included).
    private const long WindowBytes = 24 + (4 * 22) + 24; // float[22] + list slot with its end time
    private const long CallBytes = 8;                    // an int in a List<int> that may have doubled
    private const long TraceBytes = 128;                 // a new process's list and dictionary entry
    private const long SymbolBytes = 96;                 // an interned syscall name's dictionary entry
    private const long ShadowScoreBytes = 16;            // a double in a list that may have doubled
    public const long LiveBaseBytes = 32 * 1024;         // spike detectors' histories (6 × 408 doubles) and the open window
    private const long Chunk = 64 * 1024;

    private readonly string _workload;
    private readonly ModelOptions _o;
    private readonly double _target;
    private readonly BehaviourWindow _window = new();
    private readonly float[] _vector = new float[BehaviourSchema.Features.Length];
    private readonly int[] _seriesIndex = BehaviourSchema.Series.Select(s => BehaviourSchema.Index(s.Feature)).ToArray();
    private readonly Dictionary<int, ProcessStream> _processes = new();
    private readonly Queue<int> _processOrder = new();

    // Training data, collected while learning.
    private readonly List<(float[] Vector, DateTimeOffset End)> _windows = [];
    private readonly Dictionary<int, (string? Exe, List<int> Calls)> _traces = new();
    private readonly Dictionary<string, int> _symbols = new(StringComparer.Ordinal);
    private long _trainingCalls;
    private long _trainingEvents;
    private DateTimeOffset _trainingFrom;

    // Live scoring state.
    private SpikeDetector[] _spikes = [];
    private readonly Dictionary<string, List<double>> _shadowScores = new(StringComparer.Ordinal);
    private DateTimeOffset _windowStart;
    private double _lastCpu, _lastMemory;

    // Bytes reserved from the node's budget: training data (released when training ends) and what serves (model,
    // spike histories, process streams; released when the workload is reset or evicted).
    private readonly ModelMemoryBudget _budget;
    private long _trainingReserved, _trainingUsed, _modelReserved, _streamsReserved;

    public ModelRuntime(string workload, ModelOptions options, double targetAlertsPerDay, ModelMemoryBudget? budget = null)
    {
        _workload = workload;
        _o = options;
        _target = targetAlertsPerDay;
        _budget = budget ?? ModelMemoryBudget.Unlimited();
    }

    /// <summary>A detector's threshold after an analyst's verdict: this far above the score they marked as fine.</summary>
    public const double FeedbackMargin = 1.05;

    // Thresholds raised by analysts' verdicts (at most one per detector). They outlive model swaps and relearning:
    // the verdict was about this workload's behaviour, and verdicts are replayed from the feedback topic on restart.
    private readonly Dictionary<string, double> _raised = new(StringComparer.Ordinal);

    /// <summary>
    /// An analyst marked a model alert as a false positive: the detector's threshold for this workload is raised to
    /// <see cref="FeedbackMargin"/> times the score, so the same behaviour stops alerting and clearly stronger
    /// behaviour still does. False for a name that is not a model detector or a score that is not positive.
    /// </summary>
    public bool RaiseThreshold(string detector, double score)
    {
        if (!WorkloadModel.IsDetector(detector) || !(score > 0) || double.IsInfinity(score))
        {
            return false;
        }

        _raised[detector] = Math.Max(_raised.GetValueOrDefault(detector), score * FeedbackMargin);
        return true;
    }

    /// <summary>The threshold in force: the model's calibrated one, or an analyst's raised one if higher.</summary>
    public double ThresholdOf(string detector)
    {
        var t = Model?.ThresholdOf(detector) ?? double.PositiveInfinity;
        if (_raised.Count == 0 || !_raised.TryGetValue(detector, out var raised) || !(raised > t))
        {
            return t;
        }

        // Capped against the threshold in force, whatever model that is: a verdict may quieten a detector for the
        // behaviour it saw, never switch it off (a "score: 1e300" verdict).
        return Math.Min(raised, t * _o.MaxThresholdRaise);
    }

    /// <summary>Memory of one process's syscall stream: three arrays (history, calls, surprise) and the object, with headers.</summary>
    public static long StreamBytes(int order, int window) => 160 + (window * 12L) + (Math.Max(1, order - 1) * 4L);

    /// <summary>What the memory budget cut from the last model put in service (null: it fits whole).</summary>
    public MemoryRefusal? LastFit { get; private set; }

    /// <summary>Bytes this workload holds reserved from the budget.</summary>
    public long ReservedBytes => _trainingReserved + _modelReserved + _streamsReserved;

    public WorkloadModel? Model { get; private set; }

    /// <summary>Window length: the model's own (its features were computed over it), else the configured one.</summary>
    public TimeSpan Window => Model is { } m && m.Card.WindowSeconds > 0 ? TimeSpan.FromSeconds(m.Card.WindowSeconds) : _o.Window;

    /// <summary>The model in service was promoted from the model folder (not trained here).</summary>
    public bool Promoted { get; private set; }

    public long WindowsScored { get; private set; }

    /// <summary>
    /// Called after each scored window with its end and its largest score/threshold ratio over every detector,
    /// including the sequence windows of its calls (above 1 would alert). Used by offline evaluation.
    /// </summary>
    public Action<DateTimeOffset, double>? WindowScored { get; set; }

    private double _maxSequenceRatio;

    /// <summary>Behaviour windows above threshold only because activity was missing (not alerted).</summary>
    public long DeficitWindows { get; private set; }

    /// <summary>Scores each detector would have alerted on while in shadow (not alerted).</summary>
    public long ShadowExceedances { get; private set; }

    /// <summary>Observes one event. <paramref name="known"/>: the baseline already knew its main item (read before it learns the event).</summary>
    public void Observe(in RuntimeEvent e, bool known, BaselinePhase phase, DateTimeOffset now, List<ModelFinding> findings)
    {
        if (_windowStart == default)
        {
            _windowStart = now;
            _trainingFrom = now;
        }

        var window = Window;
        if (now - _windowStart >= window)
        {
            CloseWindow(_windowStart + window, phase, findings);

            // Idle gaps are not replayed window by window: the next window starts at the current one.
            var steps = (long)((now - _windowStart) / window);
            _windowStart += window * steps;
        }

        _window.Add(e, known);
        if (phase is BaselinePhase.Learning or BaselinePhase.Stale)
        {
            _trainingEvents++;
        }

        if (e.Kind == EventKind.Syscall && e.SyscallName is { } name)
        {
            OnSyscall(e.Process.Pid, e.Process.Exe, name, phase, findings);
        }
        else if (e.Kind == EventKind.ProcessExit && _processes.Remove(e.Process.Pid, out var exited))
        {
            ReleaseStream(exited);
            if (_processOrder.Count > 2 * Math.Max(_processes.Count, 64))
            {
                // Exited processes stay queued until their turn; without this a workload of short-lived processes
                // would grow the queue by one entry per process for ever.
                var alive = _processOrder.Where(_processes.ContainsKey).ToList();
                _processOrder.Clear();
                foreach (var pid in alive)
                {
                    _processOrder.Enqueue(pid);
                }
            }
        }
    }

    /// <summary>
    /// What else is unusual right now: the current window's features furthest above the model's training mean
    /// (at least 2 standard deviations), for the context of an alert raised by another detector. Empty without a behaviour model.
    /// </summary>
    public IReadOnlyList<FeatureContribution> Context(int top)
    {
        if (Model?.Behaviour is not { } pca)
        {
            return [];
        }

        Span<float> v = stackalloc float[BehaviourSchema.Features.Length];
        _window.Peek(v, _lastCpu, _lastMemory);
        var scaler = pca.Scaler;
        var z = new double[v.Length];
        for (var i = 0; i < v.Length; i++)
        {
            z[i] = (v[i] - scaler.Mean[i]) / scaler.Scale[i];
        }

        var total = z.Sum(x => x * x);
        var values = v.ToArray();
        return Enumerable.Range(0, z.Length)
            .Where(i => z[i] >= 2) // the window is still open: only what is already above normal means something
            .OrderByDescending(i => z[i])
            .Take(top)
            .Select(i => new FeatureContribution(
                BehaviourSchema.Features[i], BehaviourWindow.Unscale(i, values[i]), BehaviourWindow.Unscale(i, scaler.Mean[i]), total > 0 ? z[i] * z[i] / total : 0))
            .ToList();
    }

    /// <summary>Forgets models and training data (the workload relearns after an image change).</summary>
    public void Reset()
    {
        Model = null;
        Promoted = false;
        _windows.Clear();
        _traces.Clear();
        _symbols.Clear();
        _shadowScores.Clear();
        _spikes = [];
        _trainingCalls = _trainingEvents = 0;
        _trainingFrom = _windowStart;
        Release();
    }

    /// <summary>Gives back every byte reserved from the budget (the workload is evicted, or relearns from nothing).</summary>
    public void Release()
    {
        ReleaseTraining();
        ClearStreams();
        _budget.Release(_modelReserved);
        _modelReserved = 0;
    }

    /// <summary>
    /// Trains and calibrates from what was collected while learning; null when there was too little to train
    /// anything. The collection is released either way.
    /// </summary>
    public WorkloadModel? Train(DateTimeOffset now, string version, string source, KnownItems? known = null)
    {
        WorkloadModel? model;
        try
        {
            model = ModelTrainer.Build(
                _workload, version, source, _o, _target, _windows, _traces.Values.Select(t => (t.Exe, t.Calls.ToArray())).ToList(),
                _symbols.OrderBy(p => p.Value).Select(p => p.Key).ToList(), _trainingFrom, now, _trainingEvents, known);
        }
        finally
        {
            // Released before the model reserves its own memory: the two are never both needed.
            DiscardTraining();
        }

        if (model is not null)
        {
            Swap(model);
        }

        return model;
    }

    /// <summary>Releases learning data without training (a promoted model is in service).</summary>
    public void DiscardTraining()
    {
        _windows.Clear();
        _windows.TrimExcess();
        _traces.Clear();
        _traces.TrimExcess();
        _trainingCalls = 0;
        ReleaseTraining();
    }

    private void ReleaseTraining()
    {
        _budget.Release(_trainingReserved);
        _trainingReserved = _trainingUsed = 0;
    }

    /// <summary>Charges learning data to the budget, a chunk at a time; false (counted) when the budget is spent.</summary>
    private bool ChargeTraining(long bytes)
    {
        if (_trainingUsed + bytes > _trainingReserved)
        {
            var chunk = Math.Max(Chunk, bytes);
            if (!_budget.TryReserve(chunk))
            {
                _budget.Refused(MemoryRefusal.Training);
                return false;
            }

            _trainingReserved += chunk;
        }

        _trainingUsed += bytes;
        return true;
    }

    private void ReleaseStream(ProcessStream stream)
    {
        _budget.Release(stream.Bytes);
        _streamsReserved -= stream.Bytes;
    }

    private void ClearStreams()
    {
        _processes.Clear();
        _processOrder.Clear();
        _budget.Release(_streamsReserved);
        _streamsReserved = 0;
    }

    /// <summary>
    /// Puts a model in service between two events (the shard thread calls this); process streams start again. When the
    /// node's memory budget cannot hold it whole, the per-executable sequence tables go first, then the sequence
    /// model; a model that does not fit even then is not put in service (<see cref="LastFit"/> says which). Returns
    /// whether a model is in service.
    /// </summary>
    public bool Swap(WorkloadModel model, bool promoted = false)
    {
        // The previous model's reservation is given back first: a swap replaces, it does not add.
        _budget.Release(_modelReserved);
        _modelReserved = 0;
        foreach (var (fitted, cut) in Fits(model))
        {
            var bytes = LiveBaseBytes + fitted.EstimatedBytes;
            if (_budget.TryReserve(bytes))
            {
                _modelReserved = bytes;
                LastFit = cut;
                if (cut is { } c)
                {
                    _budget.Refused(c);
                }

                Install(fitted, promoted);
                return true;
            }
        }

        _budget.Refused(MemoryRefusal.Model);
        LastFit = MemoryRefusal.Model;
        Model = null;
        Promoted = false;
        _spikes = [];
        ClearStreams();
        return false;
    }

    /// <summary>The model whole, then without per-executable tables, then without sequences.</summary>
    private static IEnumerable<(WorkloadModel Model, MemoryRefusal? Cut)> Fits(WorkloadModel model)
    {
        yield return (model, null);
        if (model.Sequences is { } seq)
        {
            if (seq.Executables.Any())
            {
                yield return (model.WithSequences(seq.WithoutExecutables()), MemoryRefusal.ExecutableSequences);
            }

            yield return (model.WithSequences(null), MemoryRefusal.Sequences);
        }
    }

    private void Install(WorkloadModel model, bool promoted)
    {
        Model = model;
        Promoted = promoted;
        _spikes = BehaviourSchema.Series.Select(s => Seeded(s.Feature, s.MinScale, model.Card)).ToArray();

        // Streams start again under the new model (its order and window may differ from the old one's).
        ClearStreams();
        _shadowScores.Clear();
    }

    /// <summary>
    /// End of shadow: where a detector would have alerted clearly more often than its budget on live normal data,
    /// its threshold is recalibrated on the shadow scores. Returns the detectors whose threshold moved.
    /// </summary>
    public IReadOnlyList<string> ConfirmShadow(TimeSpan shadowDuration)
    {
        var moved = new List<string>();
        if (Model is null || shadowDuration <= TimeSpan.Zero)
        {
            return moved;
        }

        var thresholds = new Dictionary<string, double>(Model.Card.Thresholds, StringComparer.Ordinal);
        var detectors = Math.Max(1, thresholds.Count);
        foreach (var (detector, scores) in _shadowScores)
        {
            if (scores.Count < Calibration.MinScores || !thresholds.TryGetValue(detector, out var t))
            {
                continue;
            }

            var perDay = scores.Count / shadowDuration.TotalDays;
            var allowed = _target / detectors * shadowDuration.TotalDays;
            var exceeded = scores.Count(s => s > t);
            if (exceeded > Math.Max(1, 3 * allowed))
            {
                var floor = detector.StartsWith(WorkloadModel.SpikePrefix, StringComparison.Ordinal) ? _o.MinSpikeZ : 0;
                thresholds[detector] = Math.Max(floor, Math.Max(t, Calibration.Threshold(scores, Calibration.ExceedanceFor(_target, detectors, perDay))));
                moved.Add(detector);
            }
        }

        if (moved.Count > 0)
        {
            Model = new WorkloadModel(Model.Card with { Thresholds = thresholds }, Model.Behaviour, Model.Sequences);
        }

        _shadowScores.Clear();
        ReleaseTraining();
        return moved;
    }

    private SpikeDetector Seeded(string feature, double minScale, ModelCard card)
    {
        var d = NewSpike(minScale);
        if (card.SpikeHistory.TryGetValue(feature, out var history))
        {
            foreach (var (v, i) in history.Select((v, i) => (v, i)))
            {
                d.Update(v, i);
            }
        }

        return d;
    }

    internal SpikeDetector NewSpike(double minScale)
    {
        var buckets = _o.SeasonPeriod > TimeSpan.Zero ? 24 : 0;
        return new SpikeDetector(history: 120, seasonBuckets: buckets, perBucket: 12, minScale: minScale);
    }

    /// <summary>Season slot of a window end: one of 24 slots of the season period.</summary>
    internal long Bucket(DateTimeOffset end) =>
        _o.SeasonPeriod > TimeSpan.Zero ? (long)(end.ToUnixTimeMilliseconds() % (long)_o.SeasonPeriod.TotalMilliseconds / (_o.SeasonPeriod.TotalMilliseconds / 24)) : 0;

    /// <summary>A detector this many times over its threshold alerts without waiting for confirmation.</summary>
    public const double ConfirmBypassRatio = 2.0;

    private int _exceededRun;

    /// <summary>Windows over a threshold that did not alert because the next window did not confirm them.</summary>
    public long UnconfirmedWindows { get; private set; }

    private void CloseWindow(DateTimeOffset end, BaselinePhase phase, List<ModelFinding> findings)
    {
        // Copied before Close clears them; only alerting windows need it, but a window is closed at most every 100 ms.
        var notable = _window.Notable.Count == 0 || Model is null || phase != BaselinePhase.Active ? [] : _window.Notable.ToArray();
        _window.Close(_vector, ref _lastCpu, ref _lastMemory);
        if (phase is BaselinePhase.Learning or BaselinePhase.Stale)
        {
            if (_windows.Count >= MaxTrainingWindows)
            {
                // Bounded (≈ 1.8 MB): a very long learning period keeps its later half (the more representative part).
                _trainingUsed -= _windows.Count / 2 * WindowBytes;
                _windows.RemoveRange(0, _windows.Count / 2);
            }

            if (ChargeTraining(WindowBytes))
            {
                _windows.Add(((float[])_vector.Clone(), end));
            }

            return;
        }

        if (Model is null)
        {
            return;
        }

        WindowsScored++;
        var maxRatio = _maxSequenceRatio;
        _maxSequenceRatio = 0;
        var scores = new List<DetectorScore>(2);
        var contributions = new List<FeatureContribution>();
        if (Model.Behaviour is { } pca)
        {
            var s = pca.Score(_vector);
            var t = ThresholdOf(WorkloadModel.BehaviourDetector);
            Record(WorkloadModel.BehaviourDetector, s, t, phase);
            var pcaRatio = s / t;
            if (s > t)
            {
                // A window that is unusual only for what is missing (a quiet spell, no connections) is a
                // reliability question, not a security alert: it needs at least one main contributor above baseline.
                var explained = pca.Explain(_vector, _o.TopFeatures).Select(Unscaled).ToList();
                if (explained.Any(c => c.Share >= 0.1 && c.Observed > c.Baseline))
                {
                    scores.Add(new DetectorScore(WorkloadModel.BehaviourDetector, s, t));
                    // Weighted by how far the detector is over its threshold, like the spike series below.
                    contributions.AddRange(explained.Select(c => c with { Share = c.Share * s / t }));
                }
                else
                {
                    DeficitWindows++;
                    pcaRatio = Math.BitDecrement(1.0);
                }
            }

            maxRatio = Math.Max(maxRatio, pcaRatio);
        }

        var bucket = Bucket(end);
        for (var k = 0; k < _spikes.Length; k++)
        {
            var (feature, _) = BehaviourSchema.Series[k];
            var i = _seriesIndex[k];
            var name = WorkloadModel.SpikePrefix + feature;
            var t = ThresholdOf(name);
            var z = _spikes[k].Score(_vector[i], bucket, out var median);
            if (!double.IsNaN(z))
            {
                Record(name, z, t, phase);
                maxRatio = Math.Max(maxRatio, z / t);
                if (z > t)
                {
                    scores.Add(new DetectorScore(name, z, t));
                    contributions.Add(new FeatureContribution(feature, BehaviourWindow.Unscale(i, _vector[i]), BehaviourWindow.Unscale(i, median), z / t));
                }
            }

            // An alerting value enters the history only up to the alert level (see SpikeDetector).
            _spikes[k].Update(_vector[i], bucket, double.IsNaN(z) || z <= t ? double.PositiveInfinity : _spikes[k].ValueAt(t, bucket));
        }

        WindowScored?.Invoke(end, maxRatio);
        var exceededBefore = _exceededRun;
        _exceededRun = scores.Count == 0 ? 0 : _exceededRun + 1;
        if (scores.Count == 0 || phase != BaselinePhase.Active)
        {
            return;
        }

        scores.Sort((a, b) => (b.Score / b.Threshold).CompareTo(a.Score / a.Threshold));
        var top = scores[0];

        // A single window a little over its threshold is the tail of normal (thresholds come from a short learning
        // period); an anomaly that lasts, or one far over, is not. Raise on the ConfirmWindows-th window in a row, or
        // at once when a detector is twice over. The run continues silently once raised (cooldown is per incident).
        if (top.Score / top.Threshold < ConfirmBypassRatio && exceededBefore + 1 < _o.ConfirmWindows)
        {
            UnconfirmedWindows++;
            return;
        }
        // Shares: each feature's part of the window's excess over the thresholds, normalised over the listed features.
        var features = contributions.OrderByDescending(c => c.Share).DistinctBy(c => c.Feature).Take(_o.TopFeatures).ToList();
        var shareTotal = features.Sum(c => c.Share);
        if (shareTotal > 0)
        {
            features = features.Select(c => c with { Share = c.Share / shareTotal }).ToList();
        }
        var ratio = top.Score / top.Threshold;
        var isResource = top.Detector is "spike:cpu_cores" or "spike:memory_mib";
        // Evidence: what the anomaly is made of (an example event of each top feature: the largest transfer, the
        // process behind most of a burst), then the window's new items.
        var examples = features.Select(f => BehaviourSchema.Index(f.Feature)).Where(i => i >= 0).Select(_window.ClosedExample).OfType<RuntimeEvent>().ToList();
        if (examples.Count > 0)
        {
            notable = [.. examples.Concat(notable).Distinct().Take(4)];
        }

        findings.Add(new ModelFinding(
            top.Detector,
            isResource ? "resource_spike" : top.Detector == WorkloadModel.BehaviourDetector ? "behaviour_anomaly" : "rate_spike",
            ratio >= 3 || scores.Count >= 3 ? Severity.High : Severity.Medium,
            top.Score,
            top.Threshold,
            scores,
            features,
            $"{Describe(top)}; top features: {string.Join(", ", features.Select(f => $"{f.Feature} {f.Observed:0.##} (baseline {f.Baseline:0.##})"))}",
            string.Join(",", scores.Select(s => s.Detector)))
        {
            Evidence = notable,
        });
    }

    private static string Describe(DetectorScore s) => s.Detector == WorkloadModel.BehaviourDetector
        ? $"behaviour window unlike the baseline (PCA residual {s.Score:0.###} > calibrated {s.Threshold:0.###})"
        : $"{s.Detector[WorkloadModel.SpikePrefix.Length..]} spiked (robust z {s.Score:0.#} > calibrated {s.Threshold:0.#})";

    private static FeatureContribution Unscaled(FeatureContribution c)
    {
        var i = BehaviourSchema.Index(c.Feature);
        return c with { Observed = BehaviourWindow.Unscale(i, c.Observed), Baseline = BehaviourWindow.Unscale(i, c.Baseline) };
    }

    private void Record(string detector, double score, double threshold, BaselinePhase phase)
    {
        if (phase != BaselinePhase.Shadow)
        {
            return;
        }

        if (!_shadowScores.TryGetValue(detector, out var list))
        {
            _shadowScores[detector] = list = [];
        }

        if (list.Count < 50_000 && ChargeTraining(ShadowScoreBytes))
        {
            list.Add(score);
        }

        if (score > threshold)
        {
            ShadowExceedances++;
        }
    }

    private void OnSyscall(int pid, string? exe, string name, BaselinePhase phase, List<ModelFinding> findings)
    {
        if (phase is BaselinePhase.Learning or BaselinePhase.Stale)
        {
            if (_trainingCalls >= _o.MaxTrainingCalls)
            {
                return;
            }

            if (!_symbols.TryGetValue(name, out var id))
            {
                if (_symbols.Count >= 1000 || !ChargeTraining(SymbolBytes))
                {
                    return;
                }

                _symbols[name] = id = _symbols.Count;
            }

            if (!_traces.TryGetValue(pid, out var trace))
            {
                if (!ChargeTraining(TraceBytes))
                {
                    return;
                }

                _traces[pid] = trace = (exe, []);
            }

            if (ChargeTraining(CallBytes))
            {
                trace.Calls.Add(id);
                _trainingCalls++;
            }

            return;
        }

        if (Model?.Sequences is not { } seq)
        {
            return;
        }

        if (!_processes.TryGetValue(pid, out var p))
        {
            if (_processes.Count >= _o.MaxProcesses)
            {
                // The oldest stream still alive makes room (the queue may name processes that exited since).
                while (_processOrder.TryDequeue(out var oldest))
                {
                    if (_processes.Remove(oldest, out var old))
                    {
                        ReleaseStream(old);
                        break;
                    }
                }
            }

            p = new ProcessStream(seq.Order, seq.Window);
            if (!_budget.TryReserve(p.Bytes))
            {
                _budget.Refused(MemoryRefusal.ProcessStreams);
                return;
            }

            _streamsReserved += p.Bytes;
            _processes[pid] = p;
            _processOrder.Enqueue(pid);
        }

        var symbol = seq.Id(name);
        var model = seq.For(exe);
        var bits = p.Push(model, symbol);
        if (double.IsNaN(bits))
        {
            return;
        }

        var t = ThresholdOf(WorkloadModel.SequenceDetector);
        Record(WorkloadModel.SequenceDetector, bits, t, phase);
        _maxSequenceRatio = Math.Max(_maxSequenceRatio, bits / t);
        if (bits <= t)
        {
            // Back to normal: a later anomalous stretch of this (possibly long-lived) process alerts again.
            p.Alerted = false;
            return;
        }

        if (phase != BaselinePhase.Active || p.Alerted)
        {
            return;
        }

        // One alert per anomalous stretch: the rest of it adds nothing an analyst needs.
        p.Alerted = true;
        var typical = Model.Card.Evaluation.TryGetValue(WorkloadModel.SequenceDetector, out var held) ? held.Median : double.NaN;
        var worst = p.WorstCalls(seq, _o.TopFeatures, typical);
        var ratio = bits / t;
        findings.Add(new ModelFinding(
            WorkloadModel.SequenceDetector,
            "syscall_sequence_anomaly",
            ratio >= 2 ? Severity.High : Severity.Medium,
            bits,
            t,
            [new DetectorScore(WorkloadModel.SequenceDetector, bits, t)],
            worst,
            $"{exe ?? "process"} (pid {pid}) made calls in an order its baseline finds unlikely: {bits:0.##} bits/call over the last {seq.Window} calls > calibrated {t:0.##}",
            $"{exe}:{pid}"));
    }

    /// <summary>One process's recent calls and their surprise, in fixed rings.</summary>
    private sealed class ProcessStream(int order, int window)
    {
        private readonly int[] _history = new int[Math.Max(1, order - 1)];
        private readonly int[] _calls = new int[window];
        private readonly double[] _bits = new double[window];
        private int _historyCount;
        private int _n;
        private double _sum;

        public bool Alerted { get; set; }

        public long Bytes => StreamBytes(order, window);

        /// <summary>Adds a call; returns the window's mean surprise once it is full, NaN before.</summary>
        public double Push(Sequences.NgramModel model, int symbol)
        {
            var b = model.Surprisal(_history.AsSpan(0, _historyCount), symbol);
            var slot = _n % _bits.Length;
            if (_n >= _bits.Length)
            {
                _sum -= _bits[slot];
            }

            _bits[slot] = b;
            _calls[slot] = symbol;
            _sum += b;
            _n++;

            if (_historyCount < _history.Length)
            {
                _history[_historyCount++] = symbol;
            }
            else if (_history.Length > 0)
            {
                Array.Copy(_history, 1, _history, 0, _history.Length - 1);
                _history[^1] = symbol;
            }

            return _n >= _bits.Length ? _sum / _bits.Length : double.NaN;
        }

        /// <summary>The least likely calls of the window, beside the typical surprise per call of held-back normal windows.</summary>
        public IReadOnlyList<FeatureContribution> WorstCalls(SequenceModel seq, int top, double typical)
        {
            var total = _sum <= 0 ? 1 : _sum;
            return Enumerable.Range(0, _bits.Length)
                .OrderByDescending(i => _bits[i])
                .Take(top)
                .Select(i => new FeatureContribution(
                    "call:" + (_calls[i] < seq.Symbols.Count ? seq.Symbols[_calls[i]] : "unseen"), _bits[i], typical, _bits[i] / total))
                .ToList();
        }
    }
}
