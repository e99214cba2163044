.intel_syntax noprefix
.text
.globl _start
_start:
    mov rax, [rsp]
    cmp rax, 3
    jb usage
    lea rdx, [rsp+rax*8+16]
    mov rdi, [rsp+16]
    lea rsi, [rsp+24]
    mov eax, 59
    syscall
    neg eax
    mov r12d, eax
    lea rsi, [rip+exec_s]
    mov edx, 5
    call write2
    mov rsi, [rsp+16]
    xor edx, edx
1:  cmp byte ptr [rsi+rdx], 0
    je 2f
    inc rdx
    jmp 1b
2:  call write2
    lea rsi, [rip+colon_s]
    mov edx, 2
    call write2
    lea rsi, [rip+table]
3:  movzx eax, byte ptr [rsi]
    movzx edx, byte ptr [rsi+1]
    add rsi, 2
    test eax, eax
    jz 4f
    cmp eax, r12d
    je 4f
    add rsi, rdx
    jmp 3b
4:  call write2
    lea rsi, [rip+nl_s]
    mov edx, 1
    call write2
    mov edi, 255
    jmp exit
usage:
    lea rsi, [rip+msg]
    mov edx, msg_end - msg
    call write2
    mov edi, 127
exit:
    mov eax, 231
    syscall
write2:
    mov edi, 2
    mov eax, 1
    syscall
    ret
exec_s: .ascii "exec "
colon_s: .ascii ": "
nl_s: .ascii "\n"
.macro E n, s
    .byte \n, 9f - 8f
8:  .ascii "\s"
9:
.endm
table:
    E 1, "operation not permitted"
    E 2, "no such file or directory"
    E 5, "input/output error"
    E 7, "argument list too long"
    E 8, "exec format error"
    E 12, "cannot allocate memory"
    E 13, "permission denied"
    E 14, "bad address"
    E 20, "not a directory"
    E 21, "is a directory"
    E 22, "invalid argument"
    E 24, "too many open files"
    E 26, "text file busy"
    E 36, "file name too long"
    E 40, "too many levels of symbolic links"
    E 80, "accessing a corrupted shared library"
    E 0, "unknown error"
msg: .ascii "berth: the container process could not be executed\n"
msg_end:
