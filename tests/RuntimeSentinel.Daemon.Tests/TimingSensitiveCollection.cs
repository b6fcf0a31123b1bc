namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// Tests that run real daemons against a wall clock (the demo's schedule, fault tests with three or four processes) run
/// alone: side by side on a 2-core machine, one starves the other's timeline and a correct build fails.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitiveCollection
{
    public const string Name = "timing-sensitive daemons";
}
