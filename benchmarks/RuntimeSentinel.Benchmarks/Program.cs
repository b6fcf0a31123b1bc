using System.Reflection;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;

// `budgets`: run each benchmark method many times in-process and compare bytes allocated per call with
// allocation-budgets.json. Allocation counts are deterministic, so this is a CI gate; timings are not.
// `e2e [--events N] [--rounds R] [--format tetragon|native] [--workloads W] [--group-wait-ms G] [--latency-seconds S] [--offered R] [--models off]`:
// end-to-end throughput on the embedded Kafka as a ratio to raw consumption, event-to-incident latency at half of it
// (or at R events/s),
// managed memory per workload; the last line is one JSON object.
// `flood [events] [budgetMiB]`: resident memory under a flood of unique paths, peers and workload keys.
// `restore [workloads] [rounds]`: how long a new instance takes to read N workload checkpoints back.
// Anything else goes to BenchmarkDotNet (e.g. `--filter *` or `--job dry --filter *`).
if (args.Length > 0 && args[0] == "budgets")
{
    var budgets = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "allocation-budgets.json")))!;
    var failed = 0;
    foreach (var type in typeof(RuntimeSentinel.Benchmarks.Samples).Assembly.GetTypes().Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null)))
    {
        var instance = Activator.CreateInstance(type)!;
        type.GetMethods().FirstOrDefault(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null)?.Invoke(instance, null);
        foreach (var method in type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
        {
            var name = $"{type.Name}.{method.Name}";
            for (var i = 0; i < 10_000; i++)
            {
                method.Invoke(instance, null);
            }

            // Best of three rounds: one-off runtime work (tiered JIT, a cache resize) must not count as per-call cost.
            const int N = 20_000;
            var best = double.MaxValue;
            for (var round = 0; round < 3; round++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < N; i++)
                {
                    method.Invoke(instance, null);
                }

                best = Math.Min(best, (GC.GetAllocatedBytesForCurrentThread() - before) / (double)N);
            }

            // Reflection boxes the return value; measure that overhead on a no-op and subtract it.
            var perCall = best - BoxingOverhead(method.ReturnType);
            var budget = budgets.TryGetValue(name, out var b) ? b.GetDouble() : double.NaN;
            var ok = !double.IsNaN(budget) && perCall <= budget + 0.5;
            failed += ok ? 0 : 1;
            Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {name,-45} {perCall,8:0.0} B/op (budget {(double.IsNaN(budget) ? "missing" : budget.ToString("0", System.Globalization.CultureInfo.InvariantCulture))})");
        }
    }

    Console.WriteLine(failed == 0 ? "allocation budgets: all within budget" : $"allocation budgets: {failed} over budget");
    return failed == 0 ? 0 : 1;
}

if (args.Length > 0 && args[0] == "e2e")
{
    return RuntimeSentinel.Benchmarks.EndToEnd.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "flood")
{
    var n = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
    var budget = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 256;
    return RuntimeSentinel.Benchmarks.Flood.Run(n, budget);
}

if (args.Length > 0 && args[0] == "restore")
{
    var n = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000;
    var rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
    return RuntimeSentinel.Benchmarks.StateRestore.Run(n, rounds);
}

BenchmarkSwitcher.FromAssembly(typeof(RuntimeSentinel.Benchmarks.Samples).Assembly).Run(args);
return 0;

static double BoxingOverhead(Type returnType)
{
    if (!returnType.IsValueType || returnType == typeof(void))
    {
        return 0;
    }

    var probe = typeof(Probe).GetMethod(nameof(Probe.Value))!.MakeGenericMethod(returnType);
    var target = new Probe();
    for (var i = 0; i < 100; i++)
    {
        probe.Invoke(target, null);
    }

    const int N = 20_000;
    var before = GC.GetAllocatedBytesForCurrentThread();
    for (var i = 0; i < N; i++)
    {
        probe.Invoke(target, null);
    }

    return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)N;
}

internal sealed class Probe
{
    public T? Value<T>() => default;
}
