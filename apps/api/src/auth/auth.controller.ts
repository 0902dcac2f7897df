import { Body, Controller, Get, HttpCode, Post, SetMetadata } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { LoginDto, RefreshDto, SetPasswordDto } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { Allow, Auth, type Principal, Public } from './principal.js';

export const LOGIN_RATE_LIMITED = 'wms:login-rate-limited';
/** Counted against the per-address sign-in limit (LOGIN_RATE_PER_MINUTE). */
const LoginRateLimited = () => SetMetadata(LOGIN_RATE_LIMITED, true);

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  @LoginRateLimited()
  login(@Body() dto: LoginDto) {
    return this.auth.login(dto.email, dto.password);
  }

  @Post('refresh')
  @Public()
  @HttpCode(200)
  @LoginRateLimited()
  refresh(@Body() dto: RefreshDto) {
    return this.auth.refresh(dto.refreshToken);
  }

  /** With the one-time code a new tenant's first admin was given: sets the password and signs in. */
  @Post('set-password')
  @Public()
  @HttpCode(200)
  @LoginRateLimited()
  setPassword(@Body() dto: SetPasswordDto) {
    return this.auth.setPassword(dto.code, dto.password);
  }

  @Post('logout')
  @Public()
  @HttpCode(204)
  async logout(@Body() dto: RefreshDto) {
    await this.auth.logout(dto.refreshToken);
  }

  @Get('me')
  @Allow('operator', 'supervisor', 'admin', 'integration')
  me(@Auth() principal: Principal) {
    return principal;
  }
}
