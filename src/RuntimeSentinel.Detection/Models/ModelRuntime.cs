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
public sealed partial class ModelRuntime
{
    /// <summary>Behaviour windows kept for training: 20,000 × 22 features × 4 bytes, at most about 1.8 MB.</summary>
    public const int MaxTrainingWindows = 20_000;

    // Memory estimates charged to the budget (array headers, list slack and dictionary entries included).
    private const long WindowBytes = 24 + (4 * 22) + 24; // float[22] + list slot with its end time
    private const long CallBytes = 8;                    // an int in a List<int> that may have doubled
    private const long TraceBytes = 128;                 // a new process's list and dictionary entry
    private const long SymbolBytes = 96;                 // an interned syscall name's dictionary entry
    public const long LiveBaseBytes = 32 * 1024;         // spike detectors' histories (6 × 408 doubles) and the open window
    private const long Chunk = 64 * 1024;

    private readonly string _workload;
    private readonly ModelOptions _o;
    private readonly double _target;
    private readonly BehaviourWindow _window = new();
    private readonly float[] _vector = new float[BehaviourSchema.Features.Length];
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
    private IWindowDetector[] _detectors = [];
    private readonly ShadowScores _shadow = new();
    private readonly Func<long, bool> _chargeTraining; // one delegate, not one per recorded score
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
        _thresholds = new ThresholdsInForce(options.MaxThresholdRaise);
        _chargeTraining = ChargeTraining;
    }

    /// <summary>A detector's threshold after an analyst's verdict: this far above the score they marked as fine.</summary>
    public const double FeedbackMargin = ThresholdsInForce.FeedbackMargin;

    private readonly ThresholdsInForce _thresholds;

    /// <summary>An analyst marked a model alert as a false positive (<see cref="ThresholdsInForce.Raise"/>).</summary>
    public bool RaiseThreshold(string detector, double score) => _thresholds.Raise(detector, score);

    /// <summary>The threshold in force: the model's calibrated one, or an analyst's raised one if higher.</summary>
    public double ThresholdOf(string detector) => _thresholds.Of(detector, Model);

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
        Generation++;
        Model = null;
        Promoted = false;
        _windows.Clear();
        _traces.Clear();
        _symbols.Clear();
        _shadow.Clear();
        _detectors = [];
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
}
