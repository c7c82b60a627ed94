using CsCheck;
using Xunit;

namespace Curvature.Tests.Fuzz;

/// <summary>
/// How long the property-based fuzz suite runs and with which seed. Normal test runs give each property a few seconds
/// (the whole suite about a minute); <c>CURVATURE_FUZZ_MINUTES</c> spreads that many minutes over the properties
/// (<c>./build.sh --target=Fuzz --fuzz-minutes=30</c>); <c>CURVATURE_FUZZ_SEED</c> replays the seed a failure printed.
/// </summary>
public static class Fuzz
{
    /// <summary>The number of properties in the suite (the long mode divides its time by it).</summary>
    public const int PropertyCount = 8;

    /// <summary>Seconds per property in a normal test run.</summary>
    public const int DefaultSeconds = 8;

    /// <summary>The seed to replay, or null for a fresh random one.</summary>
    public static string? Seed => Environment.GetEnvironmentVariable("CURVATURE_FUZZ_SEED") is { Length: > 0 } s ? s.Trim() : null;

    /// <summary>Seconds each property runs.</summary>
    public static int Seconds =>
        double.TryParse(Environment.GetEnvironmentVariable("CURVATURE_FUZZ_MINUTES"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double minutes) && minutes > 0
            ? Math.Max(1, (int)(minutes * 60 / PropertyCount))
            : DefaultSeconds;

    /// <summary>
    /// Runs <paramref name="property"/> on inputs from <paramref name="gen"/> for <see cref="Seconds"/> on one thread (or once
    /// with <see cref="Seed"/> when it is set). A failure is shrunk, and its message carries the seed that reproduces it.
    /// </summary>
    public static void Check<T>(Gen<T> gen, Action<T> property, Func<T, string>? print = null)
    {
        string? seed = Seed;
        var output = TestContext.Current.TestOutputHelper;
        try
        {
            gen.Sample(
                property,
                writeLine: line => output?.WriteLine(line),
                seed: seed,
                iter: seed is null ? -1 : 1,
                time: seed is null ? Seconds : -1,
                threads: 1,
                print: print);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException(
                $"Fuzz property failed. Replay with CURVATURE_FUZZ_SEED set to the seed below (and a filter on this test).{Environment.NewLine}{e.Message}", e);
        }
    }
}
