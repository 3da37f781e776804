// Loaded with `node --import`: a node without process.execve (Node 22 before 22.15, 23 before 23.11), on which a
// serving process cannot replace itself with node started with its young generation bound.
delete process.execve;
