// One browser at a time: the tests assert that changes show within a second, which two browsers and their nodes
// sharing a two-core machine would test less than the console.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
