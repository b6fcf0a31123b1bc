namespace RuntimeSentinel.Alerting.Tests;

internal static class DispatcherTestExtensions
{
    /// <summary>One dispatcher pass (<see cref="AlertDispatcher.TickAsync"/>); a loop that never runs it fails the test at the ceiling.</summary>
    public static Task PassAsync(this AlertDispatcher dispatcher) => dispatcher.TickAsync().WaitAsync(TestClock.Ceiling);
}
