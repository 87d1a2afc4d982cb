// How long glibc's ucontext calls take here (kernels/README.md, "Emulated device": why the emulator
// switches its fibers itself). Build and run: g++ -O2 -o /tmp/ucontext_cost bench/ucontext_cost.cpp && /tmp/ucontext_cost
#include <ucontext.h>
#include <chrono>
#include <cstdio>
static ucontext_t a, b; static char stk[65536];
static void f(){ for(;;) swapcontext(&b,&a); }
int main(){ getcontext(&b); b.uc_stack.ss_sp=stk; b.uc_stack.ss_size=sizeof stk; makecontext(&b,f,0);
 auto t=std::chrono::steady_clock::now(); int n=1000000; for(int i=0;i<n;i++) swapcontext(&a,&b);
 double s=std::chrono::duration<double>(std::chrono::steady_clock::now()-t).count(); printf("%.1f ns per round trip (2 swapcontext)\n", s/n*1e9);
 t=std::chrono::steady_clock::now(); for(int i=0;i<n;i++){ getcontext(&b); } s=std::chrono::duration<double>(std::chrono::steady_clock::now()-t).count(); printf("%.1f ns per getcontext\n", s/n*1e9);}
