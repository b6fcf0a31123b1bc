namespace RuntimeSentinel.Detection.Models;

/// <summary>Training from the collected windows and traces, memory charged to the budget, and putting a model in service.</summary>
public sealed partial class ModelRuntime
{
    /// <summary>
    /// Trains and calibrates from what was collected while learning; null when there was too little to train
    /// anything. The collection is released either way.
    /// </summary>
    public WorkloadModel? Train(DateTimeOffset now, string version, string source, KnownItems? known = null)
    {
        var (set, reserved) = _training.Take(now);
        WorkloadModel? model;
        try
        {
            model = ModelTrainer.Build(_workload, version, source, _o, _target, set, known);
        }
        finally
        {
            // Released before the model reserves its own memory: the two are never both needed.
            _budget.Release(reserved);
        }

        if (model is not null)
        {
            Swap(model);
        }

        return model;
    }

    /// <summary>
    /// Hands what was collected while learning to a job that trains off the shard thread; collection here starts empty
    /// again. The job holds the training data's memory reservation until it is disposed.
    /// </summary>
    internal TrainingJob TakeTraining(DateTimeOffset now, string version, string source, KnownItems? known = null)
    {
        var (set, reserved) = _training.Take(now);
        return new TrainingJob(this, Generation, version, source, set, known, reserved);
    }

    /// <summary>Bumped when what was learned is thrown away (relearning): a job trained on the old data is not installed.</summary>
    public long Generation { get; private set; }

    /// <summary>A training run on data taken from a runtime; <see cref="Build"/> may run on any thread.</summary>
    internal sealed class TrainingJob(ModelRuntime owner, long generation, string version, string source, TrainingSet set, KnownItems? known, long reserved) : IDisposable
    {
        private long _reserved = reserved;

        public string Version => version;

        /// <summary>True while the runtime it came from has not relearned since: the model still fits what it learned.</summary>
        public bool StillCurrent => owner.Generation == generation;

        public WorkloadModel? Build() => ModelTrainer.Build(owner._workload, version, source, owner._o, owner._target, set, known);

        /// <summary>Gives the training data's memory back to the node's budget (once).</summary>
        public void Dispose() => owner._budget.Release(Interlocked.Exchange(ref _reserved, 0));
    }

    /// <summary>Releases learning data without training (a promoted model is in service).</summary>
    public void DiscardTraining() => _training.Discard();

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
        _detectors = [];
        Serve(null);
        _drift.Reset(null);
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
        // Kind by kind in the registry's order (behaviour model, spike series, imported ones): the order explanations are gathered in.
        var context = new ModelDetectorContext(model, _o, _budget);
        _detectors = _registry.CreateWindowDetectors(context, _off);

        // Streams start again under the new model (its order and window may differ from the old one's), and so does drift.
        Serve(context);
        _drift.Reset(model.Card);
        _shadow.Clear();
    }

    /// <summary>The stream detectors for a model put in service (none without one); the previous ones' streams and memory go.</summary>
    private void Serve(ModelDetectorContext? context)
    {
        foreach (var d in _streams)
        {
            d.Clear();
        }

        _streams = context is { } c ? _registry.CreateStreamDetectors(c, _off) : [];
    }

    /// <summary>
    /// End of shadow: where a detector would have alerted clearly more often than its budget on live normal data,
    /// its threshold is recalibrated on the shadow scores. Returns the detectors whose threshold moved.
    /// </summary>
    public IReadOnlyList<string> ConfirmShadow(TimeSpan shadowDuration)
    {
        if (Model is null || shadowDuration <= TimeSpan.Zero)
        {
            return [];
        }

        var moved = _shadow.Recalibrate(Model.Card, shadowDuration, _target, _o.MinSpikeZ, out var thresholds);
        if (moved.Count > 0)
        {
            Model = Model.WithCard(Model.Card with { Thresholds = thresholds });
        }

        _shadow.Clear();
        _training.Release();
        return moved;
    }

    private int _exceededRun;

    /// <summary>Windows over a threshold that did not alert because the next window did not confirm them.</summary>
    public long UnconfirmedWindows { get; private set; }
}
