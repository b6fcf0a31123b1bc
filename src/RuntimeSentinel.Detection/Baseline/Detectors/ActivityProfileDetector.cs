using System.Globalization;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>A busy minute in a slot of the day that was quiet while learning (<see cref="ActivityProfile"/>).</summary>
internal sealed class ActivityProfileDetector(DetectionOptions options) : IEventDetector
{
    private static readonly string[] Raised = [AlertCategories.OffHoursActivity];

    public const string DetectorName = "activity_profile";

    private readonly ActivityProfile _activity = new(options.ActivityCycle, options.ActivitySlots);

    public string Name => DetectorName;

    public IReadOnlyList<string> Categories => Raised;

    public void Learn(in RuntimeEvent e, DetectorContext ctx) => _activity.Observe(e, ctx.Now, learning: true, out _, out _, ctx.LearningSince);

    public void Score(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings)
    {
        if (!_activity.Observe(e, ctx.Now, learning: false, out var events, out var slot) || ctx.Accepts(Feature.Resource))
        {
            return;
        }

        var learned = _activity.LearnedMax(slot);
        var busiest = Enumerable.Range(0, _activity.Slots).Max(_activity.LearnedMax);
        var span = options.ActivityCycle / _activity.Slots;
        var from = TimeSpan.FromTicks(span.Ticks * slot);
        findings.Add(Finding.OfItem(
            Feature.Resource, new FeatureKey("activity:" + slot.ToString(CultureInfo.InvariantCulture)), AlertCategories.OffHoursActivity, Severity.Medium, events / (double)Math.Max(1, learned), ActivityProfile.Factor, learned, _activity.Slots,
            $"{events} events within a minute in its quiet slot {from:hh\\:mm}-{from + span:hh\\:mm} (UTC, of a {options.ActivityCycle.TotalHours:0.##} h cycle); while learning at most {learned} a minute then, {busiest} in its busiest slot"));
    }

    public void Reset(DetectorReset why)
    {
        if (why is DetectorReset.Relearn or DetectorReset.ClockRestart)
        {
            _activity.Clear();
        }
    }

    public void WriteState(StateWriter w, int section) => _activity.WriteState(w);

    /// <summary>Checkpoint format 2 added it.</summary>
    public void ReadState(StateReader r, int section)
    {
        if (r.Format >= 2)
        {
            _activity.ReadState(r);
        }
    }
}
