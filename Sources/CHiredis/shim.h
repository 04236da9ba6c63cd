#ifndef SYFT_PROXY_CHIREDIS_SHIM_H
#define SYFT_PROXY_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif
