// Package cputime reads the CPU time benchmarks report next to wall-clock
// time: on a machine shared with other jobs it moves far less with their load.
// Where it is not measured it reads 0, and benchmarks then leave the figure
// out.
package cputime
