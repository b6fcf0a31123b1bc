using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>Per-process syscall streams scored by the sequence model.</summary>
public sealed partial class ModelRuntime
{
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
