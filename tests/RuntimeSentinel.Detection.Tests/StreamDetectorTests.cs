using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>The sequence detector's stream contract, the training collection and the window clock, each on its own.</summary>
public class StreamDetectorTests
{
    private static readonly string[] Symbols = ["read", "write", "close", "openat"];

    /// <summary>An order-3 model of a process that only ever reads then writes, scored over 8 calls.</summary>
    private static SequenceModel ReadWriteModel()
    {
        var calls = Enumerable.Range(0, 2000).Select(i => i % 2).ToArray();
        return SequenceModel.Train(Symbols, [("/app", calls)], order: 3, window: 8);
    }

    [Fact]
    public void Push_NormalThenOddCalls_ScoresOnlyOnceFullAndTheOddStretchHigher()
    {
        IStreamDetector d = new SequenceStreams(ReadWriteModel(), new ModelOptions(), ModelMemoryBudget.Unlimited());
        var scores = new List<double>();
        for (var i = 0; i < 16; i++)
        {
            scores.Add(d.Push(1, "/app", i % 2 == 0 ? "read" : "write"));
        }

        Assert.All(scores.Take(7), s => Assert.True(double.IsNaN(s), "not a full window yet"));
        var normal = scores[^1];
        double odd = 0;
        for (var i = 0; i < 8; i++)
        {
            odd = d.Push(1, "/app", i % 2 == 0 ? "openat" : "close");
        }

        Assert.True(odd > normal + 3, $"odd {odd} vs normal {normal} bits/call");
        var worst = d.Explain(1, 2, normal);
        Assert.Equal(2, worst.Count);
        Assert.All(worst, c => Assert.True(c.Feature is "call:openat" or "call:close", c.Feature));
    }

    [Fact]
    public void Opens_AStretchOverTheThreshold_TrueOnceUntilTheStreamIsNormalAgain()
    {
        IStreamDetector d = new SequenceStreams(ReadWriteModel(), new ModelOptions(), ModelMemoryBudget.Unlimited());
        d.Push(7, "/app", "read");

        Assert.True(d.Opens(7, 5, 2));
        Assert.False(d.Opens(7, 6, 2)); // the same stretch
        Assert.False(d.Opens(7, 1, 2)); // normal again
        Assert.True(d.Opens(7, 5, 2));  // a new stretch
        Assert.False(d.Opens(99, 5, 2)); // a stream it does not hold
    }

    [Fact]
    public void Push_MoreProcessesThanAllowed_OldestStreamMakesRoomAndMemoryIsGivenBack()
    {
        var budget = new ModelMemoryBudget(1 << 20);
        var model = ReadWriteModel();
        var d = new SequenceStreams(model, new ModelOptions { MaxProcesses = 4 }, budget);
        var one = SequenceStreams.StreamBytes(model.Order, model.Window);
        for (var pid = 0; pid < 10; pid++)
        {
            d.Push(pid, "/app", "read");
        }

        Assert.Equal(4 * one, d.MemoryBytes);
        Assert.Equal(4 * one, budget.Used);

        d.End(9);
        d.End(12345); // never seen: nothing to give back
        Assert.Equal(3 * one, budget.Used);

        d.Clear();
        Assert.Equal(0, budget.Used);
        Assert.Equal(0, d.MemoryBytes);
    }

    [Fact]
    public void Push_BudgetSpent_RefusesTheStreamAndCountsIt()
    {
        var model = ReadWriteModel();
        var budget = new ModelMemoryBudget(SequenceStreams.StreamBytes(model.Order, model.Window));
        var d = new SequenceStreams(model, new ModelOptions(), budget);

        d.Push(1, "/app", "read");
        Assert.True(double.IsNaN(d.Push(2, "/app", "read")));
        Assert.Equal(1, budget.Refusals(MemoryRefusal.ProcessStreams));
    }

    [Fact]
    public void TrainingData_TakeThenDiscard_HandsTheReservationToTheJobAndStartsEmpty()
    {
        var budget = new ModelMemoryBudget(1 << 20);
        var t0 = DateTimeOffset.Parse("2026-12-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var data = new TrainingData(new ModelOptions(), budget);
        data.Restart(t0);
        data.AddWindow(new float[BehaviourSchema.Features.Length], t0.AddSeconds(10));
        data.AddCall(1, "/app", "read");
        data.AddCall(1, "/app", "write");
        data.AddCall(2, "/bin/sh", "read");
        data.CountEvent();

        var (set, reserved) = data.Take(t0.AddMinutes(1));

        Assert.Single(set.Windows);
        Assert.Equal(["read", "write"], set.Symbols);
        Assert.Equal([[0, 1], [0]], set.Traces.Select(t => t.Calls));
        Assert.Equal((t0, t0.AddMinutes(1), 1L), (set.From, set.To, set.Events));
        Assert.True(reserved > 0);
        Assert.Equal(reserved, budget.Used); // held by the job now, not by the collection
        Assert.Equal(0, data.ReservedBytes);
        Assert.Empty(data.Snapshot(t0).Windows);
    }

    [Fact]
    public void TrainingData_BudgetSpent_RefusesAndCountsInsteadOfGrowing()
    {
        var budget = new ModelMemoryBudget(64 * 1024); // one chunk
        var data = new TrainingData(new ModelOptions(), budget);
        var window = new float[BehaviourSchema.Features.Length];
        for (var i = 0; i < 2000; i++)
        {
            data.AddWindow(window, DateTimeOffset.UnixEpoch.AddSeconds(i));
        }

        var kept = data.Snapshot(DateTimeOffset.UnixEpoch).Windows.Count;
        Assert.InRange(kept, 100, 1999);
        Assert.True(budget.Refusals(MemoryRefusal.Training) > 0);
        data.Discard();
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public void WindowSchedule_EventsAcrossAGap_ClosesOneWindowAndStartsAtTheCurrentOne()
    {
        var s = new WindowSchedule();
        var t0 = DateTimeOffset.UnixEpoch.AddDays(1);
        var w = TimeSpan.FromSeconds(10);

        Assert.Null(s.Advance(t0, w)); // starts the clock
        Assert.Null(s.Advance(t0.AddSeconds(9), w));
        Assert.Equal(t0.AddSeconds(10), s.Advance(t0.AddSeconds(10), w));
        Assert.Equal(t0.AddSeconds(20), s.Advance(t0.AddSeconds(95), w)); // an idle gap is one window, not nine
        Assert.Equal(t0.AddSeconds(90), s.Start);
        Assert.Null(s.Advance(t0.AddSeconds(99), w));
    }
}
