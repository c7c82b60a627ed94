using Curvature.NativeProbe;
using Curvature.Backends;
using Curvature.Native;

// Runs native kernels in a fresh process, for tests that need a process state the test host cannot have (only one
// provider loaded, or MKL loaded in its reproducible mode). Prints one line per result; exit code 0 on success.
//
//   openblas-digest [--load-mkl-first]   SHA-256 of OpenBLAS SYEVD / POTRF+POTRI results on fixed matrices
//   mkl-alignment-digests [--reproducible]  one SHA-256 per buffer alignment of the same MKL computations
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Curvature.NativeProbe openblas-digest [--load-mkl-first] | mkl-alignment-digests [--reproducible]");
    return 2;
}

try
{
    switch (args[0])
    {
        case "openblas-digest":
            if (args.Contains("--load-mkl-first"))
            {
                // MKL loaded and used first, so that its LAPACK symbols are in the process before OpenBLAS binds its own calls.
                var mkl = NativeBackend.Load(new NativeBackendOptions { Backend = BackendChoice.Mkl });
                Console.WriteLine($"mkl-warmup {KernelDigest.Compute(mkl, 0)}");
            }

            var openBlas = NativeBackend.Load(new NativeBackendOptions { Backend = BackendChoice.OpenBlas });
            Console.WriteLine($"openblas {KernelDigest.Compute(openBlas, 0)}");
            return 0;
        case "mkl-alignment-digests":
            var backend = NativeBackend.Load(new NativeBackendOptions { Backend = BackendChoice.Mkl, Reproducible = args.Contains("--reproducible") });
            for (int offset = 0; offset < 8; offset++)
            {
                Console.WriteLine($"offset {offset} {KernelDigest.Compute(backend, offset)}");
            }

            return 0;
        default:
            Console.Error.WriteLine($"unknown command '{args[0]}'");
            return 2;
    }
}
catch (Exception e)
{
    Console.Error.WriteLine(e);
    return 1;
}
