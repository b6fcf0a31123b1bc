using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// The sequence detector in service: each process's recent syscalls in fixed rings, scored as they come by the
/// workload's <see cref="SequenceModel"/> (mean surprise per call over the model's window). Streams are bounded
/// (<see cref="ModelOptions.MaxProcesses"/>, oldest live stream out first) and charged to the node's model budget.
/// </summary>
public sealed class SequenceStreams(SequenceModel model, ModelOptions options, ModelMemoryBudget budget) : IStreamDetector
{
    private readonly Dictionary<long, ProcessStream> _streams = new();
    private readonly Queue<long> _order = new();

    public string Name => WorkloadModel.SequenceDetector;

    public string Category => AlertCategories.SyscallSequenceAnomaly;

    /// <summary>The registry's factory: the detector of a model with a sequence part, none otherwise.</summary>
    internal static IStreamDetector? Create(ModelDetectorContext context) =>
        context.Model.Sequences is { } sequences ? new SequenceStreams(sequences, context.Options, context.Budget) : null;

    public string Describe(long stream, string? source, double score, double threshold) =>
        $"{source ?? "process"} (pid {ProcessKey.Pid(stream)}) made calls in an order its baseline finds unlikely: {score:0.##} bits/call over the last {model.Window} calls > calibrated {threshold:0.##}";

    /// <summary>Bytes the process streams hold reserved (the model's tables are the runtime's reservation).</summary>
    public long MemoryBytes { get; private set; }

    /// <summary>Memory of one process's syscall stream: three arrays (history, calls, surprise) and the object, with headers.</summary>
    public static long StreamBytes(int order, int window) => 160 + (window * 12L) + (Math.Max(1, order - 1) * 4L);

    public double Push(long stream, string? source, string item)
    {
        if (!_streams.TryGetValue(stream, out var p))
        {
            if (_streams.Count >= options.MaxProcesses)
            {
                // The oldest stream still alive makes room (the queue may name processes that exited since).
                while (_order.TryDequeue(out var oldest))
                {
                    if (_streams.Remove(oldest, out var old))
                    {
                        Release(old);
                        break;
                    }
                }
            }

            p = new ProcessStream(model.Order, model.Window);
            if (!budget.TryReserve(p.Bytes))
            {
                budget.Refused(MemoryRefusal.ProcessStreams);
                return double.NaN;
            }

            MemoryBytes += p.Bytes;
            _streams[stream] = p;
            _order.Enqueue(stream);
        }

        return p.Push(model.For(source), model.Id(item));
    }

    public bool Opens(long stream, double score, double threshold)
    {
        if (!_streams.TryGetValue(stream, out var p))
        {
            return false;
        }

        if (score <= threshold)
        {
            // Back to normal: a later anomalous stretch of this (possibly long-lived) process alerts again.
            p.Alerted = false;
            return false;
        }

        // One alert per anomalous stretch: the rest of it adds nothing an analyst needs.
        var opens = !p.Alerted;
        p.Alerted = true;
        return opens;
    }

    public IReadOnlyList<FeatureContribution> Explain(long stream, int top, double typical) =>
        _streams.TryGetValue(stream, out var p) ? p.WorstCalls(model, top, typical) : [];

    public void End(long stream)
    {
        if (!_streams.Remove(stream, out var ended))
        {
            return;
        }

        Release(ended);
        if (_order.Count > 2 * Math.Max(_streams.Count, 64))
        {
            // Ended streams stay queued until their turn; without this a workload of short-lived processes would grow
            // the queue by one entry per process for ever.
            var alive = _order.Where(_streams.ContainsKey).ToList();
            _order.Clear();
            foreach (var process in alive)
            {
                _order.Enqueue(process);
            }
        }
    }

    public void Clear()
    {
        _streams.Clear();
        _order.Clear();
        budget.Release(MemoryBytes);
        MemoryBytes = 0;
    }

    private void Release(ProcessStream stream)
    {
        budget.Release(stream.Bytes);
        MemoryBytes -= stream.Bytes;
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
