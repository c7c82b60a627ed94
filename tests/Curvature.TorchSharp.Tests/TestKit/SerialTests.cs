using Xunit;

namespace Curvature.TorchSharp.Tests.TestKit;

/// <summary>Tests that read process-wide counters run alone.</summary>
[CollectionDefinition(nameof(SerialTests), DisableParallelization = true)]
public sealed class SerialTests;
