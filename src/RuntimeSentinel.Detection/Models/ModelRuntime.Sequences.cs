using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Models;

/// <summary>Syscalls: collected while learning, scored per process by the stream detectors afterwards.</summary>
public sealed partial class ModelRuntime
{
    private void OnSyscall(in RuntimeEvent e, string name, BaselinePhase phase, List<Finding> findings)
    {
        if (phase is BaselinePhase.Learning or BaselinePhase.Stale)
        {
            _training.AddCall(_processes.Of(e), e.Process.Exe, name);
            return;
        }

        if (_streams.Length == 0)
        {
            return;
        }

        var process = _processes.Of(e);
        foreach (var d in _streams)
        {
            OnItem(d, process, e.Process.Pid, e.Process.Exe, name, phase, findings);
        }
    }

    private void OnItem(IStreamDetector d, long process, int pid, string? exe, string name, BaselinePhase phase, List<Finding> findings)
    {
        var score = d.Push(process, exe, name);
        if (double.IsNaN(score))
        {
            return;
        }

        var t = ThresholdOf(d.Name);
        Record(d.Name, score, t, phase);
        _maxSequenceRatio = Math.Max(_maxSequenceRatio, score / t);
        if (phase != BaselinePhase.Active)
        {
            // Only the end of a stretch counts here: one already over its threshold alerts once the model is active.
            if (score <= t)
            {
                d.Opens(process, score, t);
            }

            return;
        }

        if (!d.Opens(process, score, t))
        {
            return;
        }

        var typical = Model!.Card.Evaluation.TryGetValue(d.Name, out var held) ? held.Median : double.NaN;
        var ratio = score / t;
        findings.Add(Finding.OfModel(
            d.Name,
            d.Category,
            ratio >= 2 ? Severity.High : Severity.Medium,
            score,
            t,
            [new DetectorScore(d.Name, score, t)],
            d.Explain(process, _o.TopFeatures, typical),
            d.Describe(process, exe, score, t),
            $"{exe}:{pid}",
            source: exe ?? string.Empty));
    }
}
