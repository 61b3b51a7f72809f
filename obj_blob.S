/* Puts bpf_prog.o, as clang wrote it, into ct's read-only data. */
	.section .rodata
	.balign 8
	.global ct_bpf_obj
	.global ct_bpf_obj_end
ct_bpf_obj:
	.incbin "bpf_prog.o"
ct_bpf_obj_end:
	.section .note.GNU-stack,"",@progbits
