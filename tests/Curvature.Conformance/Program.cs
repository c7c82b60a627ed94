using Curvature.Conformance;

// Usage: dotnet run -c Release --project tests/Curvature.Conformance -- <folder> --backend managed|openblas|mkl [--only kfac|ekfac|adafisher]
// (--via torchsharp: dotnet run -c Release --project tests/Curvature.TorchSharp.Tests -- <folder> --backend … --via torchsharp)
return ConformanceCommandLine.Run(args, new Dictionary<string, Func<ILayerDataSource>>(), Console.Out, Console.Error);
