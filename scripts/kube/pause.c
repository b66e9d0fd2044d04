/* The pod sandbox ("pause") process of the one-node cluster (scripts/kube/node.py).
 *
 * Why our own: no registry is reachable from these machines, so containerd's sandbox_image is this
 * program, built with `gcc -static` and packed as a one-layer image by node.py. It holds the pod's
 * namespaces open, exits on TERM/INT (so a sandbox stops at once), and reaps any child re-parented
 * to it (it is PID 1 of the pod when the pod shares its PID namespace).
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { (void)sig; _exit(0); }

static void reap(int sig) {
    (void)sig;
    while (waitpid(-1, 0, WNOHANG) > 0) {
    }
}

int main(void) {
    struct sigaction action = {0};
    action.sa_handler = quit;
    sigaction(SIGINT, &action, 0);
    sigaction(SIGTERM, &action, 0);
    action.sa_handler = reap;
    action.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &action, 0);
    for (;;) pause();
}
