"""Running students' code as unprivileged users: plain users, file permissions, rlimits and
killing by uid; where the machine allows it, also a cgroup per slot (memory and processes
bounded for the whole submission) and namespaces (bubblewrap: no network, own PIDs and IPC,
private /tmp, a minimal read-only view of the file system).

One module per job:

    provision     setup(kit, slots)            root: users hw2sandbox0..N-1, and the kit locked
                  refusal(kit, slots)          why sandboxed grading is impossible here, or None
    accounts      slots(n), claim(n)           the slots' users; a batch's own slots
                  make_scratch(slot, path)     a folder only the slot's user can use
                  python()                     the interpreter the sandbox runs notebooks with
    confinement   isolation(slot)              what this machine allows (probed once): the Isolation
                  run(slot, argv, cwd, env, wall=, memory=, cpu=) -> Outcome
                                               as the slot's user; afterwards every process of it dies
    aftermath     read_file(root, relative, max_bytes)   a file the sandbox wrote, read safely as root
                  clean(slot)                  what the user left where anyone may write
    fingerprint   kit_manifest(kit), verify_kit(kit, manifest)   the files grading depends on, unchanged

Each parallel worker has a slot and each slot its own user, so killing one worker's processes
by uid never touches another's, and two students graded at once cannot read each other's
scratch folders. After ``setup`` the kit (mode 0711) gives other users nothing but its
virtualenv, which they may read and run but not write.

Isolation modes (``isolation()`` picks the strongest that works here; the environment
variable HW2_SANDBOX_ISOLATION=cgroup or =users asks for a weaker one):

    namespaces + cgroup   bwrap (as root, no user namespace) -> init (root, PID 1) -> setpriv
                          -> the program; one cgroup holds every process of the run
    cgroup                setpriv -> the program, in the slot's cgroup
    users + rlimits       setpriv -> the program (per-process limits only)

    python -m autograder.sandbox setup [--slots N]     (as root; one line: what it changed,
                                                        the isolation this machine allows)
    python -m autograder.sandbox check [--slots N]
"""
