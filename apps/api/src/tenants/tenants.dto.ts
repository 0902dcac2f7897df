import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, Length, Matches } from 'class-validator';
import { TENANT_ID } from '@wms/events';

export class CreateTenantDto {
  @ApiProperty({ example: 'acme', description: '2-63 lower-case letters, digits or "-"; fixed for good' })
  @Matches(TENANT_ID, { message: 'id must be 2-63 lower-case letters, digits or "-", starting with a letter or digit' })
  id: string;

  @ApiProperty({ example: 'ACME Logistics' }) @IsString() @Length(1, 200) name: string;
  @ApiProperty({ example: 'it@acme.example' }) @IsEmail() adminEmail: string;
  @ApiProperty({ example: 'ACME admin' }) @IsString() @Length(1, 200) adminName: string;
}

export class SuspendTenantDto {
  @ApiProperty({ example: 'contract ended' }) @IsString() @Length(1, 500) reason: string;
}

export class AdminCodeDto {
  @ApiProperty({ example: 'it@acme.example', description: 'an admin of the tenant who has not set a password yet' })
  @IsEmail()
  email: string;
}
