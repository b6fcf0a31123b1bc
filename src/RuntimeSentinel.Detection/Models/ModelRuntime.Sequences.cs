using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>Syscalls: collected while learning, scored per process by the sequence detector afterwards.</summary>
public sealed partial class ModelRuntime
{
    private void OnSyscall(int pid, string? exe, string name, BaselinePhase phase, List<Finding> findings)
    {
        if (phase is BaselinePhase.Learning or BaselinePhase.Stale)
        {
            _training.AddCall(pid, exe, name);
            return;
        }

        if (_sequences is not { } d)
        {
            return;
        }

        var bits = d.Push(pid, exe, name);
        if (double.IsNaN(bits))
        {
            return;
        }

        var t = ThresholdOf(d.Name);
        Record(d.Name, bits, t, phase);
        _maxSequenceRatio = Math.Max(_maxSequenceRatio, bits / t);
        if (phase != BaselinePhase.Active)
        {
            // Only the end of a stretch counts here: one already over its threshold alerts once the model is active.
            if (bits <= t)
            {
                d.Opens(pid, bits, t);
            }

            return;
        }

        if (!d.Opens(pid, bits, t))
        {
            return;
        }

        var typical = Model!.Card.Evaluation.TryGetValue(d.Name, out var held) ? held.Median : double.NaN;
        var ratio = bits / t;
        findings.Add(Finding.OfModel(
            d.Name,
            AlertCategories.SyscallSequenceAnomaly,
            ratio >= 2 ? Severity.High : Severity.Medium,
            bits,
            t,
            [new DetectorScore(d.Name, bits, t)],
            d.Explain(pid, _o.TopFeatures, typical),
            $"{exe ?? "process"} (pid {pid}) made calls in an order its baseline finds unlikely: {bits:0.##} bits/call over the last {Model.Sequences!.Window} calls > calibrated {t:0.##}",
            $"{exe}:{pid}"));
    }
}
