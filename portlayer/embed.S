/* The port layer's OpenAPI document, embedded in the binary that serves it. */
    .section .rodata
    .global pl_openapi_json
    .type pl_openapi_json, @object
    .balign 16
pl_openapi_json:
    .incbin "portlayer/openapi.json"
    .byte 0
    .size pl_openapi_json, . - pl_openapi_json
    .section .note.GNU-stack,"",@progbits
